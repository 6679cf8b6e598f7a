// Store a run's totals and final status (success | partial | failed) once every task has ended.
// Parameters: $run_id (string), $totals (map of numbers), $status (string).
MATCH (r:Run {id: $run_id})
SET r += $totals, r.status = $status, r.finished_at = coalesce(r.finished_at, datetime())
