// Which of the given chain ids are stored, whatever their status (a warm-start rerun skips those pairs).
// Parameters: $ids (list of string).
MATCH (c:Chain)
WHERE c.id IN $ids
RETURN c.id AS id
