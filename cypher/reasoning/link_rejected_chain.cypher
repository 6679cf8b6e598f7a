// A chain proposed for a user and rejected by verification: kept so rejection rates and reasons are
// visible, never linked with HAS_CHAIN and never reused.
// Parameters: $dataset (string), $user (int), $chain_id (string), $t (int).
MATCH (u:User {dataset: $dataset, id: $user})
MATCH (c:Chain {id: $chain_id})
MERGE (u)-[link:PROPOSED]->(c)
ON CREATE SET link.t = $t, link.created_at = datetime()
