// Every user's link to the given chains follows the chain's current verdict: HAS_CHAIN to an accepted chain
// ('verified', 'unverified'), PROPOSED to a refused one ('rejected', 'retired'). A retyped link keeps its
// properties (the step t, when, reused); a user linked both ways keeps one link, at the earlier step.
// Why: a chain's verdict moves with the evidence later users' checks add (reasoning/evidence.py), so without
// this a user's link would hold the verdict of the moment that user's check landed, and which chains enter
// a user's graphs would depend on the order users finished in. Idempotent.
// Parameters: $chain_ids (list of string).
MATCH (c:Chain)
WHERE c.id IN $chain_ids
CALL (c) {
  MATCH (u:User)-[old:PROPOSED]->(c)
  WHERE c.status IN ['verified', 'unverified']
  MERGE (u)-[new:HAS_CHAIN]->(c)
  ON CREATE SET new = properties(old), new.reused = coalesce(old.reused, false)
  ON MATCH SET new.t = CASE WHEN old.t < new.t THEN old.t ELSE new.t END
  DELETE old
}
CALL (c) {
  MATCH (u:User)-[old:HAS_CHAIN]->(c)
  WHERE c.status IN ['rejected', 'retired']
  MERGE (u)-[new:PROPOSED]->(c)
  ON CREATE SET new = properties(old)
  ON MATCH SET new.t = CASE WHEN old.t < new.t THEN old.t ELSE new.t END
  DELETE old
}
