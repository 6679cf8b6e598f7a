// Second step of dropping a dataset: its users, items, attributes, reasoning chains and edges, the Dataset node and
// whatever else is linked to them, in batches so no transaction grows with the dataset. Runs as an auto-commit query.
// Parameters: $dataset (string).
MATCH (n)
WHERE (n:User OR n:Item OR n:Attribute OR n:Chain OR n:Edge) AND n.dataset = $dataset
   OR (n:Dataset AND n.name = $dataset)
CALL (n) {
  DETACH DELETE n
} IN TRANSACTIONS OF 1000 ROWS
