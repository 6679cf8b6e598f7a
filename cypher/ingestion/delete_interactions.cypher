// First step of dropping a dataset: its interactions, in small transactions (they are most of its size).
// Parameters: $dataset (string).
MATCH (:User {dataset: $dataset})-[r:INTERACTED]->()
CALL (r) {
  DELETE r
} IN TRANSACTIONS OF 20000 ROWS
