// The fingerprint of a dataset stored complete (no row while it is loading, or when it is not stored).
// Parameters: $name (string).
MATCH (d:Dataset {name: $name})
WHERE d.status = 'complete' AND d.fingerprint IS NOT NULL
RETURN d.fingerprint AS fingerprint
