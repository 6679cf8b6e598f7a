// One page of users' chains that enter LLMRG's graphs, with the step t that linked each chain to the user: the
// graph of a prefix S_u[:L] keeps chains with t < L. Accepted chains come by HAS_CHAIN (status in $statuses;
// retired and merged chains never enter a graph). A rejected chain is linked to its user only by PROPOSED, so
// when $statuses admits 'rejected' (the "w/o verification" control) PROPOSED links count too: every chain the
// LLM proposed for the user, whatever verification said. A user linked to one chain both ways gets it once.
// Parameters: $dataset (string), $statuses (list of string), $after (int), $limit (int).
MATCH (u:User {dataset: $dataset})
WHERE u.id > $after
WITH u
ORDER BY u.id
LIMIT $limit
MATCH (u)-[link:HAS_CHAIN|PROPOSED]->(c:Chain)
WHERE c.status IN $statuses AND (type(link) = 'HAS_CHAIN' OR 'rejected' IN $statuses)
WITH u, c, min(link.t) AS t
RETURN u.id AS user, t, c.kind AS kind, c.items AS items, c.id AS chain
ORDER BY user, t, chain
