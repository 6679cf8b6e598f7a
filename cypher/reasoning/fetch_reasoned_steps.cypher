// The history positions t a user needs no more reasoning for: those with a linked chain (accepted,
// reused or rejected) and those the LLM already answered for.
// Parameters: $dataset (string), $user (int).
MATCH (u:User {dataset: $dataset, id: $user})
OPTIONAL MATCH (u)-[link:HAS_CHAIN|PROPOSED]->(:Chain)
WITH u, collect(link.t) AS linked
UNWIND linked + coalesce(u.reasoned_positions, []) AS t
RETURN DISTINCT t
