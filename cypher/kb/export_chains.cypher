// The verified chains of a dataset for a knowledge-base file (one-link chains answered from an edge are left
// out: the edge is the knowledge). Evidence lists are absent on chains verified here, which have one record.
// Parameters: $dataset (string), $model (string or null), $prompt_version (string or null).
MATCH (c:Chain {dataset: $dataset})
WHERE c.status = 'verified' AND c.from_edge IS NULL
  AND ($model IS NULL OR c.model = $model)
  AND ($prompt_version IS NULL OR c.prompt_version = $prompt_version)
OPTIONAL MATCH (c)-[m:IMAGINED]->(imagined:Item)
RETURN c.id AS id, c.kind AS kind, c.premises AS premises, c.target AS target,
       c.recent_premises AS recent_premises,
       COLLECT { MATCH (c)-[s:STEP]->(:Item) WHERE s.i > 0 RETURN s.reason ORDER BY s.i } AS reasons,
       c.score AS score, c.masks AS masks, c.hits AS hits, c.evidence_ids AS evidence_ids,
       c.evidence_masks AS evidence_masks, c.evidence_hits AS evidence_hits, c.model AS model,
       c.prompt_version AS prompt_version, toString(c.created_at) AS created_at,
       toString(c.verified_at) AS verified_at,
       CASE WHEN imagined IS NULL THEN null
         ELSE {item: imagined.id, text: m.text, reason: m.reason, similarity: m.similarity} END AS imagined
ORDER BY id
