// One user's task record, read (and locked for writing) inside the transaction that dead-letters it: a task
// another delivery finished 'done' meanwhile gets no dead letter.
// Parameters: $run_id (string), $user (int).
MATCH (t:RunTask {run_id: $run_id, user: $user})
SET t.dead_letter_tried_at = datetime()
RETURN properties(t) AS task
