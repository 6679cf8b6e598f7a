// Why each of $items may follow this user's history: the best reasoning path ending at it that starts from
// items the user chose. This user's own chains come first (a divergent chain imagining the item, or any
// accepted chain whose premises the user chose), then the knowledge base: verified reasoning chains of any
// user whose every premise the user chose, and causal edges from an item the user chose. Within a source the
// most verified path wins (support: a chain's verification records, an edge's verified chains), then the
// longer. Items without such a path get no row.
// Parameters: $dataset (string), $user (int), $items (list of int), $history (list of int).
UNWIND $items AS candidate
CALL (candidate) {
  CALL (candidate) {
    MATCH (:User {dataset: $dataset, id: $user})-[:HAS_CHAIN]->(c:Chain {target: candidate})
    WHERE c.dataset = $dataset AND c.status IN ['verified', 'unverified'] AND all(p IN c.premises WHERE p IN $history)
    RETURN 0 AS rank, 'user' AS source, c.id AS chain, null AS edge, c.kind AS kind, c.score AS score,
           CASE c.status WHEN 'verified' THEN size(coalesce(c.evidence_ids, [c.id])) ELSE 0 END AS support,
           COLLECT { MATCH (c)-[s:STEP]->(i:Item) RETURN i.id ORDER BY s.i } AS items,
           COLLECT { MATCH (c)-[s:STEP]->(i:Item) RETURN i.title ORDER BY s.i } AS titles,
           COLLECT { MATCH (c)-[s:STEP]->(:Item) WHERE s.i > 0 RETURN coalesce(s.reason, '') ORDER BY s.i } AS reasons
    UNION
    MATCH (c:Chain {dataset: $dataset, target: candidate})
    WHERE c.kind = 'reasoning' AND c.status = 'verified' AND all(p IN c.premises WHERE p IN $history)
    RETURN 1 AS rank, 'knowledge_base' AS source, c.id AS chain, null AS edge, c.kind AS kind, c.score AS score,
           size(coalesce(c.evidence_ids, [c.id])) AS support,
           COLLECT { MATCH (c)-[s:STEP]->(i:Item) RETURN i.id ORDER BY s.i } AS items,
           COLLECT { MATCH (c)-[s:STEP]->(i:Item) RETURN i.title ORDER BY s.i } AS titles,
           COLLECT { MATCH (c)-[s:STEP]->(:Item) WHERE s.i > 0 RETURN coalesce(s.reason, '') ORDER BY s.i } AS reasons
    UNION
    MATCH (a:Item)<-[:FROM]-(e:Edge {dataset: $dataset, target: candidate})-[:TO]->(b:Item)
    WHERE e.source IN $history AND e.support > 0
    RETURN 1 AS rank, 'knowledge_base' AS source, null AS chain, e.id AS edge, 'edge' AS kind, null AS score,
           e.support AS support, [a.id, b.id] AS items, [a.title, b.title] AS titles, [e.reason] AS reasons
  }
  RETURN rank, source, chain, edge, kind, score, support, items, titles, reasons
  ORDER BY rank, support DESC, size(items) DESC, chain, edge
  LIMIT 1
}
RETURN candidate AS item, source, chain, edge, kind, score, support, items, titles, reasons
