// The causal edges of a dataset for a knowledge-base file, each with the verified chains that support it
// (the ones a file of the same filters carries); edges no such chain supports are left out.
// Parameters: $dataset (string), $model (string or null), $prompt_version (string or null).
MATCH (e:Edge {dataset: $dataset})
WHERE ($model IS NULL OR e.model = $model)
  AND ($prompt_version IS NULL OR e.prompt_version = $prompt_version)
WITH e, COLLECT {
  MATCH (e)-[:SUPPORTED_BY]->(c:Chain)
  WHERE c.status = 'verified' AND c.from_edge IS NULL
  RETURN c.id ORDER BY c.id
} AS chains
WHERE size(chains) > 0
RETURN e.id AS id, e.source AS source, e.target AS target, e.reason AS reason, e.model AS model,
       e.prompt_version AS prompt_version, toString(e.created_at) AS created_at, chains
ORDER BY id
