// A run with its live totals summed over its task records (what `llmrg run --wait` shows and what a
// finished run stores). No row when the run does not exist.
// Parameters: $run_id (string).
MATCH (r:Run {id: $run_id})
OPTIONAL MATCH (r)-[:HAS_TASK]->(t:RunTask)
RETURN properties(r) AS run,
       count(t) AS users_total,
       count(CASE WHEN t.status = 'done' THEN 1 END) AS users_done,
       count(CASE WHEN t.status = 'failed' THEN 1 END) AS users_failed,
       count(CASE WHEN t.status = 'running' THEN 1 END) AS users_running,
       count(CASE WHEN t.status = 'retrying' THEN 1 END) AS users_retrying,
       sum(coalesce(t.retries, 0)) AS retries,
       sum(coalesce(t.deliveries, 0)) AS deliveries,
       sum(coalesce(t.llm_calls, 0)) AS llm_calls,
       sum(coalesce(t.llm_retries, 0)) AS llm_retries,
       sum(coalesce(t.prompt_tokens, 0)) AS prompt_tokens,
       sum(coalesce(t.completion_tokens, 0)) AS completion_tokens,
       sum(coalesce(t.kb_hits, 0)) AS kb_hits,
       sum(coalesce(t.kb_edge_hits, 0)) AS kb_edge_hits,
       sum(coalesce(t.kb_edge_hits_warm_start, 0)) AS kb_edge_hits_warm_start,
       sum(coalesce(t.kb_misses, 0)) AS kb_misses,
       sum(coalesce(t.steps, 0)) AS steps,
       sum(coalesce(t.steps_failed, 0)) AS steps_failed,
       sum(coalesce(t.chains_verified, 0)) AS chains_verified,
       sum(coalesce(t.chains_unverified, 0)) AS chains_unverified,
       sum(coalesce(t.chains_rejected, 0)) AS chains_rejected,
       sum(coalesce(t.chains_reused, 0)) AS chains_reused,
       sum(coalesce(t.divergent_chains, 0)) AS divergent_chains,
       COUNT { (r)-[:DEAD_LETTER]->() } AS dead_letters
