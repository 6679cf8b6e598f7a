// Forget which history positions the LLM has answered for, for every user of a dataset.
// Parameters: $dataset (string).
MATCH (u:User {dataset: $dataset})
WHERE u.reasoned_positions IS NOT NULL
CALL (u) {
  REMOVE u.reasoned_positions
} IN TRANSACTIONS OF 5000 ROWS
