// Mark a dataset complete and record the counts its source files declared.
// Parameters: $name (string), $users (int), $items (int), $interactions (int).
MATCH (d:Dataset {name: $name})
SET d.status = 'complete', d.users = $users, d.items = $items, d.interactions = $interactions,
    d.updated_at = datetime()
