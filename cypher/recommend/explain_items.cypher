// Why each of $items may follow this user's history: the best reasoning path ending at it that starts from
// items the user chose. This user's own chains come first (a divergent chain imagining the item, or any
// accepted chain whose premises the user chose), then the knowledge base: verified reasoning chains of any
// user whose every premise the user chose, and causal edges from an item the user chose. Within a source the
// most verified path wins (support: a chain's verification records, an edge's verified chains), then the
// longer; only the winner's path is read. Items without such a path get no row.
// Parameters: $dataset (string), $user (int), $items (list of int), $history (list of int).
UNWIND $items AS candidate
CALL (candidate) {
  CALL (candidate) {
    MATCH (:User {dataset: $dataset, id: $user})-[:HAS_CHAIN]->(c:Chain {target: candidate})
    WHERE c.dataset = $dataset AND c.status IN ['verified', 'unverified'] AND all(p IN c.premises WHERE p IN $history)
    RETURN 0 AS rank, 'user' AS source, c AS chain, null AS edge, size(c.items) AS length,
           CASE c.status WHEN 'verified' THEN size(coalesce(c.evidence_ids, [c.id])) ELSE 0 END AS support
    UNION
    MATCH (c:Chain {dataset: $dataset, target: candidate})
    WHERE c.kind = 'reasoning' AND c.status = 'verified' AND all(p IN c.premises WHERE p IN $history)
    RETURN 1 AS rank, 'knowledge_base' AS source, c AS chain, null AS edge, size(c.items) AS length,
           size(coalesce(c.evidence_ids, [c.id])) AS support
    UNION
    MATCH (e:Edge {dataset: $dataset, target: candidate})
    WHERE e.source IN $history AND e.support > 0
    RETURN 1 AS rank, 'knowledge_base' AS source, null AS chain, e AS edge, 2 AS length, e.support AS support
  }
  WITH rank, source, chain, edge, length, support
  ORDER BY rank, support DESC, length DESC, chain.id, edge.id
  LIMIT 1
  // the winner's path only: its steps in order (a chain) or its two items (an edge)
  WITH source, chain, edge, support,
       CASE WHEN chain IS NULL
         THEN COLLECT { MATCH (edge)-[:FROM]->(a:Item) RETURN {id: a.id, title: a.title, reason: null} }
              + COLLECT { MATCH (edge)-[:TO]->(b:Item) RETURN {id: b.id, title: b.title, reason: edge.reason} }
         ELSE COLLECT {
           MATCH (chain)-[s:STEP]->(i:Item) RETURN {id: i.id, title: i.title, reason: s.reason} ORDER BY s.i
         }
       END AS steps
  RETURN source, chain.id AS chain, edge.id AS edge, CASE WHEN chain IS NULL THEN 'edge' ELSE chain.kind END AS kind,
         chain.score AS score, support, [step IN steps | step.id] AS items, [step IN steps | step.title] AS titles,
         [step IN steps[1..] | coalesce(step.reason, '')] AS reasons
}
RETURN candidate AS item, source, chain, edge, kind, score, support, items, titles, reasons
