// Remember the history positions the LLM has answered for (even when nothing it proposed survived), so a
// rerun does not ask again; positions whose calls failed are not marked and are retried. Idempotent.
// Parameters: $dataset (string), $user (int), $positions (list of int).
MATCH (u:User {dataset: $dataset, id: $user})
SET u.reasoned_positions = coalesce(u.reasoned_positions, [])
  + [t IN $positions WHERE NOT t IN coalesce(u.reasoned_positions, [])]
