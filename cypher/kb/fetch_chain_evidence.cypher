// The chains among $ids already stored, with what an import merges its evidence into.
// Parameters: $ids (list of string).
MATCH (c:Chain)
WHERE c.id IN $ids
RETURN c.id AS id, c.status AS status, c.masks AS masks, c.hits AS hits, toString(c.created_at) AS created_at,
       toString(c.verified_at) AS verified_at,
       c.evidence_ids AS evidence_ids, c.evidence_masks AS evidence_masks, c.evidence_hits AS evidence_hits
