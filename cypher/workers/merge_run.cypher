// A run record and one pending task record per user, created before any task is sent. Idempotent.
// Parameters: $run (map: id, kind, dataset, users_total, options), $users (list of int).
MERGE (r:Run {id: $run.id})
ON CREATE SET r += $run, r.status = 'running', r.created_at = datetime()
WITH r
UNWIND $users AS user
MERGE (t:RunTask {run_id: r.id, user: user})
ON CREATE SET t.status = 'pending', t.attempts = 0, t.retries = 0, t.dataset = r.dataset
MERGE (r)-[:HAS_TASK]->(t)
