// Answers: which chains explain a user's history? Each accepted chain with its items (titles) in order, the
// reason on every link, the step t that linked it to the user, whether it was reused from the knowledge base,
// and its verification score.
// Parameters: $dataset (string), $user (int).
MATCH (u:User {dataset: $dataset, id: $user})-[link:HAS_CHAIN]->(c:Chain)
WHERE c.status IN ['verified', 'unverified']
CALL (c) {
  MATCH (c)-[s:STEP]->(i:Item)
  WITH s, i
  ORDER BY s.i
  RETURN collect(i.title) AS titles, collect(coalesce(s.reason, '')) AS reasons
}
RETURN link.t AS t, c.kind AS kind, titles, reasons[1..] AS reasons, c.score AS score, link.reused AS reused,
       c.id AS chain
ORDER BY t, kind, titles, chain
