// Knowledge-base hit counts recomputed from the reuse links themselves (after merges moved links).
// Parameters: $dataset (string).
MATCH (c:Chain {dataset: $dataset})
WITH c, COUNT { (:User)-[:HAS_CHAIN {reused: true}]->(c) } AS hits
WHERE c.hit_count IS NULL OR c.hit_count <> hits
SET c.hit_count = hits
RETURN count(c) AS changed
