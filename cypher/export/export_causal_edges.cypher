// The knowledge base's verified causal edges of a dataset, for training snapshots and the "LLMRG from
// knowledge-base edges" variant, which places them in every user's reasoning graph. Every model and prompt
// version: the edges a database holds are the knowledge base it was given.
// Parameters: $dataset (string).
MATCH (e:Edge {dataset: $dataset})
WHERE e.support > 0
RETURN e.source AS source, e.target AS target
ORDER BY source, target
