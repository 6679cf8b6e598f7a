// Answers: what did each reasoning run cost? Finished runs, newest first: users, LLM calls, tokens, calls per
// user and knowledge-base hits ($dataset null = every dataset).
// Parameters: $dataset (string or null), $limit (int).
MATCH (r:Run)
WHERE r.status <> 'running' AND ($dataset IS NULL OR r.dataset = $dataset)
RETURN r.id AS run, r.dataset AS dataset, r.status AS status, r.users_done AS users, r.llm_calls AS llm_calls,
       r.prompt_tokens AS prompt_tokens, r.completion_tokens AS completion_tokens,
       CASE WHEN r.users_done > 0 THEN round(1.0 * r.llm_calls / r.users_done, 2) END AS calls_per_user,
       r.kb_hits AS kb_hits
ORDER BY r.created_at DESC, run
LIMIT $limit
