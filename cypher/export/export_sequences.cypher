// One page of users (ids above $after, ascending) with their time-ordered item ids; the exporter pages
// through the whole dataset so no single result holds every interaction.
// Parameters: $dataset (string), $after (int), $limit (int).
MATCH (u:User {dataset: $dataset})
WHERE u.id > $after
WITH u
ORDER BY u.id
LIMIT $limit
CALL (u) {
  MATCH (u)-[r:INTERACTED]->(i:Item)
  WITH r, i
  ORDER BY r.pos
  RETURN collect(i.id) AS items
}
RETURN u.id AS user, items
