// The edges among $ids already stored (an import counts them as merged, not created).
// Parameters: $ids (list of string).
MATCH (e:Edge)
WHERE e.id IN $ids
RETURN e.id AS id
