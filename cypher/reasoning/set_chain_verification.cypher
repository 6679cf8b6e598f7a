// The outcome of re-verifying one chain during refresh $refresh_id: its new score, and status 'verified'
// or 'retired' (a retired chain is never reused and leaves the reasoning graphs). Applied once per
// refresh, so a redelivered task keeps the true previous score. The new verdict replaces any evidence merged
// from knowledge-base files (the chain then has one evidence record, this one).
// Parameters: $chain_id (string), $refresh_id (string), $score (float), $hits (int), $masks (int),
//             $status (string), $model (string), $prompt_version (string).
MATCH (c:Chain {id: $chain_id})
WHERE coalesce(c.refresh_id, '') <> $refresh_id
SET c.previous_score = c.score, c.score = $score, c.hits = $hits, c.masks = $masks, c.status = $status,
    c.refresh_id = $refresh_id, c.verified_at = datetime(), c.verified_model = $model,
    c.verified_prompt_version = $prompt_version,
    c.evidence_ids = null, c.evidence_masks = null, c.evidence_hits = null,
    c.retired_at = CASE WHEN $status = 'retired' THEN datetime() ELSE c.retired_at END
