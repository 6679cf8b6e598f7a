// One chain with its ordered items and reasons (the first step has none: an empty string keeps the list
// aligned, as collect() would drop a null), and the user it is re-verified against (its creator if
// that link still exists, else its lowest-id user) with the target's position in that user's history.
// Parameters: $chain_id (string).
MATCH (c:Chain {id: $chain_id})-[s:STEP]->(i:Item)
WITH c, s, i
ORDER BY s.i
WITH c, collect(i.id) AS items, collect(coalesce(s.reason, '')) AS reasons
OPTIONAL MATCH (u:User)-[l:HAS_CHAIN]->(c)
WITH c, items, reasons, u, l
ORDER BY l.reused, u.id
WITH c, items, reasons, collect({user: u.id, t: l.t})[0] AS owner
RETURN c.dataset AS dataset, c.kind AS kind, c.status AS status, c.score AS score, items, reasons,
       c.recent_premises AS recent_premises, owner.user AS user, owner.t AS t
