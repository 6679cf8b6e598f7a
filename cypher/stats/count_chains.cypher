// Per dataset: accepted chains linked to its users, and verified reasoning chains in its knowledge base.
// Parameters: none.
MATCH (d:Dataset)
CALL (d) {
  MATCH (:User {dataset: d.name})-[:HAS_CHAIN]->(c:Chain)
  RETURN count(DISTINCT c) AS chains
}
CALL (d) {
  MATCH (c:Chain {dataset: d.name})
  WHERE c.kind = 'reasoning' AND c.status = 'verified'
  RETURN count(c) AS kb_chains
}
RETURN d.name AS dataset, chains, kb_chains
