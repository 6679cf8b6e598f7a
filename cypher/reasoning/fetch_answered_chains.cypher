// The user's accepted chains of one kind linked at the given steps (windows answered before, knowledge-base
// reuses), in the order they were written: the chains a rerun shows its later prompts as already found, as
// the first attempt's prompts did.
// Parameters: $dataset (string), $user (int), $kind (string), $positions (list of int).
MATCH (:User {dataset: $dataset, id: $user})-[link:HAS_CHAIN]->(c:Chain {kind: $kind})
WHERE link.t IN $positions
RETURN link.t AS t, c.items AS items
ORDER BY link.created_at, t, items
