// Forget a dataset's causal edges (with delete_chains.cypher: an empty knowledge base). Auto-commit query.
// Parameters: $dataset (string).
MATCH (e:Edge {dataset: $dataset})
CALL (e) {
  DETACH DELETE e
} IN TRANSACTIONS OF 1000 ROWS
