// Answers: how many chains did verification turn away, and why? Chains rejected when made ('rejected') and
// chains retired by a knowledge-base refresh ('retired'), by reason.
// Parameters: $dataset (string).
MATCH (c:Chain {dataset: $dataset})
WHERE c.status IN ['rejected', 'retired']
RETURN c.status AS status, coalesce(c.reject_reason, 'failed re-verification') AS reason, c.kind AS kind,
       count(c) AS chains
ORDER BY chains DESC, status, reason, kind
