// What reasoning stored for each user of a dataset, for finding the users two runs over the same users
// differ on: the user's chain links (accepted and proposed) and answered positions, with the user's task record
// in one run (attempts, deliveries, worker, status, error, steps that failed), when there is one.
// Parameters: $dataset (string), $run_id (string or null).
MATCH (u:User {dataset: $dataset})
WHERE u.reasoned_positions IS NOT NULL OR EXISTS { (u)-[:HAS_CHAIN|PROPOSED]->() }
OPTIONAL MATCH (t:RunTask {run_id: $run_id, user: u.id})
RETURN u.id AS user,
       COUNT { (u)-[:HAS_CHAIN]->() } AS accepted,
       COUNT { (u)-[:PROPOSED]->() } AS proposed,
       size(coalesce(u.reasoned_positions, [])) AS positions,
       CASE WHEN t IS NULL THEN null
            ELSE t {.status, .attempts, .deliveries, .worker, .error, .steps_failed, .llm_calls} END AS task
ORDER BY user
