// The history positions t a user needs no more reasoning for: those the LLM already answered for (marked
// once a whole window's chains are written) and those a knowledge-base chain or edge was reused at (the link
// keeps reused = true when a later verdict moves it to PROPOSED). A chain the LLM wrote does not mark a
// position by itself: its link's t is the window's last target, so a window cut off between two chain writes
// would otherwise count its last target as done and never write that target's chain; the window is asked
// again, and the chains already written merge as before.
// Parameters: $dataset (string), $user (int).
MATCH (u:User {dataset: $dataset, id: $user})
OPTIONAL MATCH (u)-[link:HAS_CHAIN|PROPOSED]->(:Chain)
WHERE link.reused
WITH u, collect(link.t) AS reused
UNWIND reused + coalesce(u.reasoned_positions, []) AS t
RETURN DISTINCT t
