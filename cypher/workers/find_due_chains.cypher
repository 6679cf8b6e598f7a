// Knowledge-base chains the refresh re-verifies: verified longer ago than $stale_s seconds, verified by
// another model or prompt version, or scoring below $min_score and not re-checked in the last $recheck_s.
// Parameters: $dataset (string), $stale_s (int), $recheck_s (int), $min_score (float), $model (string),
//             $prompt_version (string), $limit (int).
MATCH (c:Chain {dataset: $dataset})
WHERE c.kind = 'reasoning' AND c.status = 'verified'
WITH c, coalesce(c.verified_at, c.created_at) AS checked
WHERE checked < datetime() - duration({seconds: $stale_s})
   OR coalesce(c.verified_model, c.model) <> $model
   OR coalesce(c.verified_prompt_version, c.prompt_version) <> $prompt_version
   OR (c.score < $min_score AND checked < datetime() - duration({seconds: $recheck_s}))
RETURN c.id AS id
ORDER BY checked, c.id
LIMIT $limit
