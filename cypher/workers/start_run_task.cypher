// A worker starts (or restarts, after a retry or a redelivery) one user's task, in one round trip: returns
// whether the task had already finished (a duplicate delivery then answers with the recorded result) and
// the record. A finished task stays as it is. `deliveries` counts every start, so a run's deliveries beyond
// one per task and its retries are redeliveries (a lost worker's tasks, a duplicate publication).
// Parameters: $run_id (string), $user (int), $attempt (int, 1-based), $worker (string).
MATCH (t:RunTask {run_id: $run_id, user: $user})
WITH t, t.status = 'done' AS finished
SET t.deliveries = coalesce(t.deliveries, 0) + 1
FOREACH (_ IN CASE WHEN finished THEN [] ELSE [1] END |
  SET t.status = 'running', t.attempts = $attempt, t.worker = $worker, t.started_at = datetime())
RETURN finished, properties(t) AS task
