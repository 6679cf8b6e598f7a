// Mark a dataset complete and record the counts its source files declared, and the fingerprint of what was
// written (`loader.fingerprint`), so a later load of the same content can skip the writing.
// Parameters: $name (string), $users (int), $items (int), $interactions (int), $fingerprint (string).
MATCH (d:Dataset {name: $name})
SET d.status = 'complete', d.users = $users, d.items = $items, d.interactions = $interactions,
    d.fingerprint = $fingerprint, d.updated_at = datetime()
