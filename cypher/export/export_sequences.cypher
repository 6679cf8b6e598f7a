// One page of users (ids above $after, ascending) with their time-ordered item ids; the exporter pages
// through the whole dataset so no single result holds every interaction. (A COLLECT subquery measured
// faster here than CALL { ... collect() } or a pattern comprehension sorted afterwards.)
// Parameters: $dataset (string), $after (int), $limit (int).
MATCH (u:User {dataset: $dataset})
WHERE u.id > $after
WITH u
ORDER BY u.id
LIMIT $limit
RETURN u.id AS user, COLLECT { MATCH (u)-[r:INTERACTED]->(i:Item) RETURN i.id ORDER BY r.pos } AS items
