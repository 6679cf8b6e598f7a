// Answers: what leads users to this item? The items linked into it by accepted chains, with the reason on
// each link and how many chains make that link.
// Parameters: $dataset (string), $item (int), $limit (int).
MATCH (c:Chain {dataset: $dataset})-[into:STEP]->(:Item {dataset: $dataset, id: $item})
WHERE c.status IN ['verified', 'unverified'] AND into.i > 0
MATCH (c)-[before:STEP {i: into.i - 1}]->(cause:Item)
RETURN cause.id AS item, cause.title AS title, into.reason AS reason, count(DISTINCT c) AS chains
ORDER BY chains DESC, item, reason
LIMIT $limit
