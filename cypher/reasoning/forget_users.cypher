// Forget some users' reasoning, as if it had never run for them: their chain links, the knowledge-base
// hits their reuse counted, the positions they were answered for, and the chains no user links any more.
// A resumed benchmark uses it to redo a chunk of users it was stopped in the middle of, so a redone user
// neither hits its own earlier chains nor is reasoned for free. A stored rejection that one of these
// users' verification turned into a pass stays a pass: it is the model's verdict on the same chain. A deleted
// chain no longer supports its causal edges; edges no chain supports any more go with it.
// Parameters: $dataset (string), $users (list of int).
MATCH (u:User {dataset: $dataset})
WHERE u.id IN $users
REMOVE u.reasoned_positions
WITH u
OPTIONAL MATCH (u)-[link:HAS_CHAIN|PROPOSED]->(c:Chain)
SET c.hit_count = c.hit_count - CASE WHEN link.reused THEN 1 ELSE 0 END
DELETE link
WITH DISTINCT c
WHERE c IS NOT NULL AND NOT EXISTS { (:User)-[:HAS_CHAIN|PROPOSED]->(c) }
OPTIONAL MATCH (e:Edge)-[support:SUPPORTED_BY]->(c)
DELETE support
SET e.support = e.support - 1
WITH c, collect(e) AS edges
DETACH DELETE c
WITH edges
UNWIND edges AS e
WITH DISTINCT e
WHERE e.support <= 0
DETACH DELETE e
