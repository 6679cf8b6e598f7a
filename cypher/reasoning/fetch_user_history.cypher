// One user's profile and time-ordered history with titles and attributes, for prompting.
// Returns no row when the user does not exist in the dataset.
// Parameters: $dataset (string), $user (int).
MATCH (u:User {dataset: $dataset, id: $user})
OPTIONAL MATCH (u)-[r:INTERACTED]->(i:Item)
WITH u, r, i
ORDER BY r.pos
WITH u, collect(CASE WHEN i IS NULL THEN NULL ELSE {
  pos: r.pos,
  id: i.id,
  title: i.title,
  attributes: COLLECT { MATCH (i)-[:HAS_ATTRIBUTE]->(a:Attribute) RETURN a.kind + ':' + a.name AS attr ORDER BY attr }
} END) AS history
RETURN properties(u) AS profile, history
