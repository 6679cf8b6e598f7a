// One user's time-ordered item ids (what a trained model reads to recommend the next item). No row for an
// unknown user.
// Parameters: $dataset (string), $user (int).
MATCH (u:User {dataset: $dataset, id: $user})
RETURN COLLECT { MATCH (u)-[r:INTERACTED]->(i:Item) RETURN i.id ORDER BY r.pos } AS items
