// Forget a dataset's reasoning chains and their links, so a benchmark stage or a fresh run starts with an
// empty knowledge base. Runs as an auto-commit query; see also clear_reasoned_positions.cypher.
// Parameters: $dataset (string).
MATCH (c:Chain {dataset: $dataset})
CALL (c) {
  DETACH DELETE c
} IN TRANSACTIONS OF 1000 ROWS
