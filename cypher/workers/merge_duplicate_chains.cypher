// Verified chains with the same kind and items (made by different models or prompt versions) collapse into
// the best one (highest score, then newest): users' links move to it, the others become 'merged' with
// `merged_into` and keep their steps for provenance. A second run finds nothing to merge.
// A user linked to both keeps one link: at the earlier step, and their own (reused = false) if either was,
// so the knowledge base still does not offer a user their own chain. A step a dropped reuse link marked done
// is kept in `reasoned_positions`, so a rerun does not ask it again.
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
  OPTIONAL MATCH (u)-[kept:HAS_CHAIN]->(keeper)
  WITH u, link, kept, [l IN [link, kept] WHERE l IS NOT NULL AND coalesce(l.reused, false) | l.t] AS reused_steps
  FOREACH (_ IN CASE WHEN kept IS NULL THEN [] ELSE [1] END |
    SET u.reasoned_positions = coalesce(u.reasoned_positions, [])
      + [t IN reused_steps WHERE NOT t IN coalesce(u.reasoned_positions, [])]
  )
  MERGE (u)-[moved:HAS_CHAIN]->(keeper)
  ON CREATE SET moved.t = link.t, moved.reused = coalesce(link.reused, false), moved.created_at = link.created_at
  ON MATCH SET moved.t = CASE WHEN link.t < moved.t THEN link.t ELSE moved.t END,
    moved.reused = coalesce(moved.reused, false) AND coalesce(link.reused, false)
  DELETE link
}
SET other.status = 'merged', other.merged_into = keeper.id
RETURN count(other) AS merged
