// The warm start's item pairs (`llmrg kb warm`) a dataset holds, verified or not: the reasoning benchmark refuses
// to carry on without them a run whose knowledge base already holds them.
// Parameters: $dataset (string).
MATCH (c:Chain {dataset: $dataset, kind: 'pair'})
RETURN count(c) AS chains
