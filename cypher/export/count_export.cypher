// What an export of a dataset must contain, counted in the graph: users, interactions, and accepted chain
// links per kind (checked against the exported tensors).
// Parameters: $dataset (string), $statuses (list of string).
MATCH (u:User {dataset: $dataset})
RETURN count(u) AS users,
       sum(COUNT { (u)-[:INTERACTED]->() }) AS interactions,
       sum(COUNT { (u)-[:HAS_CHAIN]->(c:Chain) WHERE c.status IN $statuses AND c.kind = 'reasoning' }) AS rea_links,
       sum(COUNT { (u)-[:HAS_CHAIN]->(c:Chain) WHERE c.status IN $statuses AND c.kind = 'divergent' }) AS div_links
