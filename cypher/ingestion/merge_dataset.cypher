// Create or update a dataset's record before its rows are written; status 'loading' until finished.
// Parameters: $name (string), $source (string), $variant (string or null).
MERGE (d:Dataset {name: $name})
ON CREATE SET d.created_at = datetime()
SET d.source = $source, d.variant = $variant, d.status = 'loading', d.updated_at = datetime()
