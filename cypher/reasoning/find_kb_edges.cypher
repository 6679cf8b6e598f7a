// Knowledge-base edge lookup for one step: causal edges into $target from an item of this user's history
// before the step, most supported first. Edges of another model or prompt version are found only when
// $model / $prompt_version is null (`LLMRG_KB_ANY_MODEL`).
// Parameters: $dataset (string), $target (int), $history (list of int), $model (string or null),
//             $prompt_version (string or null), $limit (int).
MATCH (e:Edge {dataset: $dataset, target: $target})
WHERE e.source IN $history AND e.support > 0
  AND ($model IS NULL OR e.model = $model)
  AND ($prompt_version IS NULL OR e.prompt_version = $prompt_version)
RETURN e.id AS id, e.source AS source, e.reason AS reason, e.support AS support
ORDER BY e.support DESC, e.id
LIMIT $limit
