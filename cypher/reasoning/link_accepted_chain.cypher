// A user's accepted chain, created for this user (reused = false) or reused from the knowledge base
// (reused = true, which counts one hit on the chain, once per user however often the write is redelivered).
// t is the target's position in the user's history: the graph of a prefix S_u[:t'] keeps links with t < t'.
// Parameters: $dataset (string), $user (int), $chain_id (string), $t (int), $reused (boolean).
MATCH (u:User {dataset: $dataset, id: $user})
MATCH (c:Chain {id: $chain_id})
MERGE (u)-[link:HAS_CHAIN]->(c)
ON CREATE SET link.t = $t, link.reused = $reused, link.created_at = datetime(),
  c.hit_count = c.hit_count + CASE WHEN $reused THEN 1 ELSE 0 END,
  c.last_used_at = datetime()
