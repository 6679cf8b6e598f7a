// The users an ablation compares variants on: those holding at least one accepted reasoning chain (verified, or
// unverified from a `--no-verify` run). The set does not depend on the variant, so every variant trains and is
// tested on the same users.
// Parameters: $dataset (string).
MATCH (u:User {dataset: $dataset})-[:HAS_CHAIN]->(c:Chain {kind: 'reasoning'})
WHERE c.status IN ['verified', 'unverified']
RETURN DISTINCT u.id AS user
ORDER BY user
