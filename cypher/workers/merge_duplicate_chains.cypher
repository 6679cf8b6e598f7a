// Verified chains with the same kind and items (made by different models or prompt versions) collapse into
// the best one (highest score, then newest): users' links move to it, the others become 'merged' with
// `merged_into` and keep their steps for provenance. A second run finds nothing to merge.
// Parameters: $dataset (string).
MATCH (c:Chain {dataset: $dataset})
WHERE c.status = 'verified'
WITH c
ORDER BY c.score DESC, c.created_at DESC, c.id
WITH c.kind AS kind, c.items AS items, collect(c) AS chains
WHERE size(chains) > 1
WITH head(chains) AS keeper, tail(chains) AS others
UNWIND others AS other
CALL (keeper, other) {
  MATCH (u:User)-[link:HAS_CHAIN]->(other)
  MERGE (u)-[moved:HAS_CHAIN]->(keeper)
  ON CREATE SET moved.t = link.t, moved.reused = link.reused, moved.created_at = link.created_at
  DELETE link
}
SET other.status = 'merged', other.merged_into = keeper.id
RETURN count(other) AS merged
