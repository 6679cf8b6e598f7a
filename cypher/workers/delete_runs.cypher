// Every run of a dataset, with its task records and dead letters (the scale benchmark starts each run from none).
// Parameters: $dataset (string).
MATCH (r:Run {dataset: $dataset})
OPTIONAL MATCH (r)-[:HAS_TASK]->(t:RunTask)
OPTIONAL MATCH (r)-[:DEAD_LETTER]->(d)
DETACH DELETE r, t, d
