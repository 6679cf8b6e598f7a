// The user among $users with the most accepted chains (ties: the lowest id): whom `llmrg demo` recommends for.
// Parameters: $dataset (string), $users (list of int).
UNWIND $users AS id
MATCH (u:User {dataset: $dataset, id: id})
OPTIONAL MATCH (u)-[:HAS_CHAIN]->(c:Chain)
  WHERE c.status IN ['verified', 'unverified']
WITH u, count(c) AS chains
RETURN u.id AS user, chains
ORDER BY chains DESC, user
LIMIT 1
