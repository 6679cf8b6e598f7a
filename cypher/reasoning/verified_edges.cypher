// The verified causal edges of a dataset as (source, target) pairs: what the warm start's coverage counts.
// Edges of another model or prompt version count only when $model / $prompt_version is null.
// Parameters: $dataset (string), $model (string or null), $prompt_version (string or null).
MATCH (e:Edge {dataset: $dataset})
WHERE e.support > 0
  AND ($model IS NULL OR e.model = $model)
  AND ($prompt_version IS NULL OR e.prompt_version = $prompt_version)
RETURN e.source AS source, e.target AS target
