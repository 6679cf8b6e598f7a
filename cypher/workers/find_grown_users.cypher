// Users reasoned for before whose history has grown since (interactions ingested later), for incremental
// reasoning by the refresh.
// Parameters: $dataset (string), $limit (int).
MATCH (u:User {dataset: $dataset})
WHERE u.reasoned_length IS NOT NULL
WITH u, COUNT { (u)-[:INTERACTED]->() } AS length
WHERE length > u.reasoned_length
RETURN u.id AS id
ORDER BY id
LIMIT $limit
