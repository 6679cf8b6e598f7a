// Users, items, interactions and attributes stored per dataset, counted from the graph (not from the
// Dataset record), with the accepted chains linked to its users and the verified reasoning chains of its
// knowledge base. One statement, so the counts are one consistent read.
// Parameters: none.
MATCH (d:Dataset)
CALL (d) {
  MATCH (u:User {dataset: d.name})
  RETURN count(u) AS users
}
CALL (d) {
  MATCH (i:Item {dataset: d.name})
  RETURN count(i) AS items
}
CALL (d) {
  MATCH (u:User {dataset: d.name})
  RETURN sum(COUNT { (u)-[:INTERACTED]->() }) AS interactions
}
CALL (d) {
  MATCH (a:Attribute {dataset: d.name})
  RETURN count(a) AS attributes
}
CALL (d) {
  MATCH (:User {dataset: d.name})-[:HAS_CHAIN]->(c:Chain)
  RETURN count(DISTINCT c) AS chains
}
CALL (d) {
  MATCH (c:Chain {dataset: d.name})
  WHERE c.kind = 'reasoning' AND c.status = 'verified'
  RETURN count(c) AS kb_chains
}
RETURN d.name AS dataset, d.status AS status, d.source AS source, d.variant AS variant,
       users, items, interactions, attributes, chains, kb_chains
ORDER BY dataset
