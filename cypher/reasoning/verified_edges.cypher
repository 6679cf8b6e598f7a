// The verified causal edges of a dataset as (source, target) pairs: what the warm start's coverage counts.
// Edges of another model, or of a prompt set outside $prompt_versions (the sets that ask pairs as the run's does),
// count only when $model / $prompt_versions is null.
// Parameters: $dataset (string), $model (string or null), $prompt_versions (list of string or null).
MATCH (e:Edge {dataset: $dataset})
WHERE e.support > 0
  AND ($model IS NULL OR e.model = $model)
  AND ($prompt_versions IS NULL OR e.prompt_version IN $prompt_versions)
RETURN e.source AS source, e.target AS target
