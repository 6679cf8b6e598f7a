// How far reasoning has gone on a dataset, for benchmarks: the users the LLM has answered for (any position
// reasoned), the highest such user id, and the chains proposed for them by kind and status. One statement.
// Parameters: $dataset (string).
MATCH (u:User {dataset: $dataset})
WHERE size(coalesce(u.reasoned_positions, [])) > 0
WITH count(u) AS users, max(u.id) AS last_user
CALL () {
  MATCH (:User {dataset: $dataset})-[:HAS_CHAIN|PROPOSED]->(c:Chain)
  WITH c.kind AS kind, c.status AS status, count(DISTINCT c) AS chains
  RETURN collect({kind: kind, status: status, chains: chains}) AS outcomes
}
RETURN users, last_user, outcomes
