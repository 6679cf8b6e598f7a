// Answers: which interests did the LLM imagine for a user beyond their history, and which catalogue items
// do they match? Accepted divergent chains: the imagined text, its nearest item, the similarity, the reason.
// Parameters: $dataset (string), $user (int).
MATCH (u:User {dataset: $dataset, id: $user})-[link:HAS_CHAIN]->(c:Chain {kind: 'divergent'})-[m:IMAGINED]->(i:Item)
WHERE c.status IN ['verified', 'unverified']
RETURN link.t AS t, m.text AS imagined, i.id AS item, i.title AS title, round(m.similarity, 3) AS similarity,
       m.reason AS reason, c.score AS score
ORDER BY t, item, imagined
