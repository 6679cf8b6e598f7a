// The item lists of the reasoning chains proposed for some users of a dataset (accepted or rejected), one row
// per user and chain, for benchmarks that compare what two runs proposed.
// Parameters: $dataset (string), $users (list of int).
MATCH (u:User {dataset: $dataset})-[:HAS_CHAIN|PROPOSED]->(c:Chain)
WHERE u.id IN $users AND c.kind = 'reasoning'
RETURN u.id AS user, c.items AS items
ORDER BY user, items
