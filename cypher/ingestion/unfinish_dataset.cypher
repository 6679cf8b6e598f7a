// First step of dropping a dataset: it stops counting as stored complete before any of its rows go, so a drop
// cut off halfway is never taken for the complete load its fingerprint describes (`loader.ensure_stored`).
// Parameters: $dataset (string).
MATCH (d:Dataset {name: $dataset})
SET d.status = 'deleting'
REMOVE d.fingerprint
