// One interaction per statement: the naive loader the ingestion benchmark compares against.
// Parameters: $dataset (string), $user (int), $item (int), $pos (int).
MERGE (u:User {dataset: $dataset, id: $user})
MERGE (i:Item {dataset: $dataset, id: $item})
MERGE (u)-[:INTERACTED {pos: $pos}]->(i)
