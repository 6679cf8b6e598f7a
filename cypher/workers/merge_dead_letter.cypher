// A poison task: it failed past its retry cap (or could never succeed). Kept for inspection and replay,
// linked to its run when it belongs to one. MERGE on the task id: a redelivery records it once.
// Parameters: $letter (map: task_id, task, run_id, dataset, user, error, attempts, arguments).
MERGE (d:DeadLetter {task_id: $letter.task_id})
ON CREATE SET d += $letter, d.created_at = datetime()
WITH d
OPTIONAL MATCH (r:Run {id: $letter.run_id})
FOREACH (run IN CASE WHEN r IS NULL THEN [] ELSE [r] END | MERGE (run)-[:DEAD_LETTER]->(d))
