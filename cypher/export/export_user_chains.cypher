// One page of users' accepted chains (status in $statuses; retired and merged chains never enter a graph)
// with the step t that linked each chain to the user: the graph of a prefix S_u[:L] keeps chains with t < L.
// Parameters: $dataset (string), $statuses (list of string), $after (int), $limit (int).
MATCH (u:User {dataset: $dataset})
WHERE u.id > $after
WITH u
ORDER BY u.id
LIMIT $limit
MATCH (u)-[link:HAS_CHAIN]->(c:Chain)
WHERE c.status IN $statuses
RETURN u.id AS user, link.t AS t, c.kind AS kind, c.items AS items, c.id AS chain
ORDER BY user, t, chain
