// Knowledge-base lookup for one step: verified reasoning chains into $target whose recent premises (those
// within the last few positions before the target when the chain was made) are among this user's recent
// items, and whose every premise is in this user's history before the target. Chains of another model, or of a
// prompt set outside $prompt_versions (the sets whose chaining and verification prompts are the run's), are found
// only when $model / $prompt_versions is null (`LLMRG_KB_ANY_MODEL`). One-link chains
// made from an edge (from_edge) are left to the edge lookup, so chain and edge hits are counted apart.
// The user's own chains (linked to $user, not reused) are not knowledge to them: a window cut off after its
// first chain write is asked again whole, as with the knowledge base off, instead of "reusing" that chain.
// Parameters: $dataset (string), $user (int), $target (int), $recent (list of int), $history (list of int),
//             $model (string or null), $prompt_versions (list of string or null), $limit (int).
MATCH (c:Chain {dataset: $dataset, target: $target})
WHERE c.kind = 'reasoning' AND c.status = 'verified' AND c.from_edge IS NULL
  AND all(p IN c.recent_premises WHERE p IN $recent)
  AND all(p IN c.premises WHERE p IN $history)
  AND ($model IS NULL OR c.model = $model)
  AND ($prompt_versions IS NULL OR c.prompt_version IN $prompt_versions)
  AND NOT EXISTS { (:User {dataset: $dataset, id: $user})-[own:HAS_CHAIN]->(c) WHERE NOT coalesce(own.reused, false) }
RETURN c.id AS id, c.items AS items, c.score AS score
ORDER BY c.score DESC, c.hit_count DESC, c.id
LIMIT $limit
