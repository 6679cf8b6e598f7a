// The most recent runs, newest first (`llmrg runs`).
// Parameters: $limit (int).
MATCH (r:Run)
RETURN r.id AS id
ORDER BY r.created_at DESC, r.id
LIMIT $limit
