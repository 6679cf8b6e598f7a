// Answers: what does a user's reasoning graph look like? The user, every accepted chain linked to them
// (HAS_CHAIN, with the step t), each chain's items (STEP, with the reason on the link into the item) and what
// it imagined (IMAGINED): one path per chain element, drawn as a graph in Neo4j Browser.
// Parameters: $dataset (string), $user (int).
MATCH path = (u:User {dataset: $dataset, id: $user})-[link:HAS_CHAIN]->(c:Chain)-[s:STEP|IMAGINED]->(:Item)
WHERE c.status IN ['verified', 'unverified']
RETURN path
ORDER BY link.t, c.id, type(s) DESC, s.i
