// One user's time-ordered item ids (what a trained model reads to recommend the next item). No row for an
// unknown user.
// Parameters: $dataset (string), $user (int).
MATCH (u:User {dataset: $dataset, id: $user})
CALL (u) {
  MATCH (u)-[r:INTERACTED]->(i:Item)
  WITH r, i
  ORDER BY r.pos
  RETURN collect(i.id) AS items
}
RETURN items
