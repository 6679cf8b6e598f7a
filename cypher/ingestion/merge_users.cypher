// Users and their attributes as properties (gender, age, occupation, zip for ML-1M; none elsewhere).
// Parameters: $dataset (string), $rows (list of {id: int, properties: map}).
UNWIND $rows AS row
MERGE (u:User {dataset: $dataset, id: row.id})
SET u += row.properties
