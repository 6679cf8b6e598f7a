// Answers: which knowledge-base chains are reused most? Verified reasoning chains by hit count (users who got
// the chain without an LLM call), with their items and score.
// Parameters: $dataset (string), $limit (int).
MATCH (c:Chain {dataset: $dataset})
WHERE c.kind = 'reasoning' AND c.status = 'verified' AND c.hit_count > 0
CALL (c) {
  MATCH (c)-[s:STEP]->(i:Item)
  WITH s, i
  ORDER BY s.i
  RETURN collect(i.title) AS titles
}
RETURN c.id AS chain, titles, c.hit_count AS hits, c.score AS score
ORDER BY hits DESC, score DESC, chain
LIMIT $limit
