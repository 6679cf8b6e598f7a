// Knowledge-base edge lookup for one step: causal edges into $target from an item of this user's history
// before the step, most supported first. Edges of another model or prompt version are found only when
// $model / $prompt_version is null (`LLMRG_KB_ANY_MODEL`). Support from the user's own chains (linked to $user,
// not reused) does not count for them: an edge only they support is their own reasoning, not the knowledge
// base's, so a window cut off after its first chain write is asked again whole instead of hitting it.
// Parameters: $dataset (string), $user (int), $target (int), $history (list of int), $model (string or null),
//             $prompt_version (string or null), $limit (int).
MATCH (e:Edge {dataset: $dataset, target: $target})
WHERE e.source IN $history AND e.support > 0
  AND ($model IS NULL OR e.model = $model)
  AND ($prompt_version IS NULL OR e.prompt_version = $prompt_version)
WITH e, e.support - COUNT {
  (e)-[:SUPPORTED_BY]->(c:Chain)<-[own:HAS_CHAIN]-(:User {dataset: $dataset, id: $user})
  WHERE NOT coalesce(own.reused, false)
} AS support
WHERE support > 0
RETURN e.id AS id, e.source AS source, e.reason AS reason, support
ORDER BY support DESC, e.id
LIMIT $limit
