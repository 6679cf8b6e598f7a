// The history positions t a user already has chains for (accepted or rejected), so reruns skip them.
// Parameters: $dataset (string), $user (int).
MATCH (:User {dataset: $dataset, id: $user})-[link:HAS_CHAIN|PROPOSED]->(:Chain)
RETURN DISTINCT link.t AS t
