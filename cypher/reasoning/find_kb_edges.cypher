// Knowledge-base edge lookup for one step: causal edges into $target from an item of this user's history
// before the step, most supported first. An edge's support here counts the verified chains behind it that the
// run may use: of its model ($model), and asked as the run would ask them: reasoning chains of a prompt set in
// $prompt_versions, item pairs (`llmrg kb warm`) of one in $pair_prompt_versions; either list null admits every
// set for its kind (`LLMRG_KB_ANY_MODEL` nulls both). Support from the user's own chains (linked to $user, not
// reused) does not count for them: an edge only they support is their own reasoning, not the knowledge base's, so
// a window cut off after its first chain write is asked again whole instead of hitting it. `pair_support`: how much of it is warm-start pairs.
// Parameters: $dataset (string), $user (int), $target (int), $history (list of int), $model (string or null),
//             $prompt_versions (list of string or null), $pair_prompt_versions (list of string or null),
//             $limit (int).
MATCH (e:Edge {dataset: $dataset, target: $target})
WHERE e.source IN $history AND e.support > 0
  AND ($model IS NULL OR e.model = $model)
CALL (e) {
  MATCH (e)-[:SUPPORTED_BY]->(c:Chain)
  WHERE ((c.kind = 'pair' AND ($pair_prompt_versions IS NULL OR c.prompt_version IN $pair_prompt_versions))
         OR (c.kind <> 'pair' AND ($prompt_versions IS NULL OR c.prompt_version IN $prompt_versions)))
    AND NOT EXISTS {
      (:User {dataset: $dataset, id: $user})-[own:HAS_CHAIN]->(c) WHERE NOT coalesce(own.reused, false)
    }
  RETURN count(c) AS support, count(CASE WHEN c.kind = 'pair' THEN 1 END) AS pair_support
}
WITH e, support, pair_support
WHERE support > 0
RETURN e.id AS id, e.source AS source, e.reason AS reason, support, pair_support
ORDER BY support DESC, e.id
LIMIT $limit
