// Worker runs: (:Run {id, kind, dataset, status, ...})-[:HAS_TASK]->(:RunTask {run_id, user, status, ...}),
// and (:DeadLetter {task_id, ...}) for tasks that failed past their retry cap. Keys make every write of a
// redelivered task land on the same node.
// Parameters: none.
CREATE CONSTRAINT run_id IF NOT EXISTS
FOR (r:Run) REQUIRE r.id IS UNIQUE;
CREATE CONSTRAINT run_task_key IF NOT EXISTS
FOR (t:RunTask) REQUIRE (t.run_id, t.user) IS UNIQUE;
CREATE CONSTRAINT dead_letter_task IF NOT EXISTS
FOR (d:DeadLetter) REQUIRE d.task_id IS UNIQUE;
