// Users, items and interactions stored per dataset, counted from the graph (not from the Dataset record).
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
RETURN d.name AS dataset, d.status AS status, d.source AS source, d.variant AS variant,
       users, items, interactions, attributes
ORDER BY dataset
