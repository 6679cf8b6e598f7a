// One page of users' links to chains, every kind and status and both link types, for a training snapshot
// (`llmrg export`): the snapshot applies each variant's rule of export_user_chains.cypher itself, so one file
// serves every variant. `t` is the earliest step of that link type between the user and the chain.
// Parameters: $dataset (string), $after (int), $limit (int).
MATCH (u:User {dataset: $dataset})
WHERE u.id > $after
WITH u
ORDER BY u.id
LIMIT $limit
MATCH (u)-[link:HAS_CHAIN|PROPOSED]->(c:Chain)
WITH u, c, type(link) AS via, min(link.t) AS t
RETURN u.id AS user, t, via, c.kind AS kind, c.status AS status, c.items AS items, c.id AS chain
ORDER BY user, chain, via
