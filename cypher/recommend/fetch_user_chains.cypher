// One user's accepted chains (status in $statuses) with the step t that linked each: the user's reasoning
// graphs for serving, built like the exporter builds them for training.
// Parameters: $dataset (string), $user (int), $statuses (list of string).
MATCH (:User {dataset: $dataset, id: $user})-[link:HAS_CHAIN]->(c:Chain)
WHERE c.status IN $statuses
RETURN link.t AS t, c.kind AS kind, c.items AS items
ORDER BY t, kind, items
