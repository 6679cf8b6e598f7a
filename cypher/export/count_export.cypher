// What an export of a dataset must contain, counted in the graph: users, interactions, and the (user, chain)
// links per kind that enter the graphs under $statuses (the rule of export_user_chains.cypher), checked
// against the exported tensors.
// Parameters: $dataset (string), $statuses (list of string).
MATCH (u:User {dataset: $dataset})
RETURN count(u) AS users,
       sum(COUNT { (u)-[:INTERACTED]->() }) AS interactions,
       sum(COUNT {
         MATCH (u)-[link:HAS_CHAIN|PROPOSED]->(c:Chain)
         WHERE c.status IN $statuses AND c.kind = 'reasoning' AND (type(link) = 'HAS_CHAIN' OR 'rejected' IN $statuses)
         RETURN DISTINCT c
       }) AS rea_links,
       sum(COUNT {
         MATCH (u)-[link:HAS_CHAIN|PROPOSED]->(c:Chain)
         WHERE c.status IN $statuses AND c.kind = 'divergent' AND (type(link) = 'HAS_CHAIN' OR 'rejected' IN $statuses)
         RETURN DISTINCT c
       }) AS div_links
