// Chains that no longer support their edges (retired by a refresh, or about to be deleted): their
// SUPPORTED_BY links go, each edge's support drops by one, and edges no verified chain supports are deleted.
// Parameters: $chain_ids (list of string).
MATCH (e:Edge)-[s:SUPPORTED_BY]->(c:Chain)
WHERE c.id IN $chain_ids
DELETE s
SET e.support = e.support - 1
WITH DISTINCT e
WHERE e.support <= 0
DETACH DELETE e
