// Why each of $items may follow this user's history: the best chain ending at it whose every other item the
// user has already chosen: the user's own divergent chains imagining the item first, then verified reasoning
// chains of any user (the knowledge base). Items without such a chain get no row.
// Parameters: $dataset (string), $user (int), $items (list of int), $history (list of int).
UNWIND $items AS candidate
CALL (candidate) {
  MATCH (c:Chain {dataset: $dataset, target: candidate})
  WHERE c.status = 'verified' AND all(p IN c.premises WHERE p IN $history)
    AND (c.kind = 'reasoning' OR EXISTS { (:User {dataset: $dataset, id: $user})-[:HAS_CHAIN]->(c) })
  WITH c
  ORDER BY CASE c.kind WHEN 'divergent' THEN 0 ELSE 1 END, c.score DESC, c.hit_count DESC, c.id
  LIMIT 1
  MATCH (c)-[s:STEP]->(i:Item)
  WITH c, s, i
  ORDER BY s.i
  RETURN c.id AS chain, c.kind AS kind, c.score AS score, collect(i.id) AS items, collect(i.title) AS titles,
         collect(coalesce(s.reason, '')) AS reasons
}
RETURN candidate AS item, chain, kind, score, items, titles, reasons[1..] AS reasons
