// The knowledge base's causal edges among one user's items, for G_rea of the "LLMRG from knowledge-base edges"
// variant at serving time: each lookup goes through the (dataset, target) index for a target the user chose and
// keeps the edges whose source the user chose too, so a request reads the edges it can use, not the dataset's
// whole knowledge base. Every model and prompt version, like `export/export_causal_edges`, which it trained on;
// a pair that several of them hold comes back once.
// Parameters: $dataset (string), $items (list of int, the user's distinct items).
UNWIND $items AS target
MATCH (e:Edge {dataset: $dataset, target: target})
WHERE e.support > 0 AND e.source IN $items
RETURN DISTINCT e.source AS source, e.target AS target
ORDER BY source, target
