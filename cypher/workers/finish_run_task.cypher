// One user's task ended: 'done' with its counters, or 'failed' (dead-lettered). The first 'done' wins, so a
// redelivered copy that finds nothing left to do does not overwrite the real counts. A done task also
// records the history length reasoned over on the user ($length; null for a failed task), which the
// refresh compares to find users whose history grew.
// Parameters: $run_id (string), $user (int), $status (string), $stats (map of numbers), $error (string or null),
//             $length (int or null).
MATCH (t:RunTask {run_id: $run_id, user: $user})
WHERE t.status <> 'done'
SET t += $stats, t.status = $status, t.error = $error, t.finished_at = datetime()
WITH t
MATCH (u:User {dataset: t.dataset, id: t.user})
WHERE $length IS NOT NULL
SET u.reasoned_length = $length
