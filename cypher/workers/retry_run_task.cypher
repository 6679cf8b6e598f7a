// One user's task failed transiently and is scheduled again in $countdown_s seconds.
// Parameters: $run_id (string), $user (int), $retries (int), $error (string), $countdown_s (float).
MATCH (t:RunTask {run_id: $run_id, user: $user})
WHERE t.status <> 'done'
SET t.status = 'retrying', t.retries = $retries, t.error = $error, t.retry_in_s = $countdown_s
