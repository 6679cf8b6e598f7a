// Chains proposed for some users of a dataset, by status (accepted or rejected), for benchmarks.
// Parameters: $dataset (string), $users (list of int).
MATCH (u:User {dataset: $dataset})-[:HAS_CHAIN|PROPOSED]->(c:Chain)
WHERE u.id IN $users AND c.kind = 'reasoning'
RETURN c.status AS status, count(DISTINCT c) AS chains
