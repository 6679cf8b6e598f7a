// A stored chain's verdict and evidence before one more check of it, and whether this user is linked to it
// already (then the check adds nothing: a redelivered write, or the same chain at another of the user's steps).
// No row when the chain is new.
// Parameters: $dataset (string), $user (int), $chain_id (string).
MATCH (c:Chain {id: $chain_id})
RETURN c.id AS id, c.status AS status, c.masks AS masks, c.hits AS hits, toString(c.created_at) AS created_at,
       toString(c.verified_at) AS verified_at,
       c.evidence_ids AS evidence_ids, c.evidence_masks AS evidence_masks, c.evidence_hits AS evidence_hits,
       EXISTS { (:User {dataset: $dataset, id: $user})-[:HAS_CHAIN|PROPOSED]->(c) } AS linked
