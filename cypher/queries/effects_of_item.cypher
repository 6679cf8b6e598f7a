// Answers: where does this item lead users? The items accepted chains link out of it, with the reason on
// each link and how many chains make that link.
// Parameters: $dataset (string), $item (int), $limit (int).
MATCH (c:Chain {dataset: $dataset})-[from:STEP]->(:Item {dataset: $dataset, id: $item})
WHERE c.status IN ['verified', 'unverified']
MATCH (c)-[after:STEP {i: from.i + 1}]->(effect:Item)
RETURN effect.id AS item, effect.title AS title, after.reason AS reason, count(DISTINCT c) AS chains
ORDER BY chains DESC, item, reason
LIMIT $limit
