// The items among $ids that a dataset holds, with their titles: what a knowledge-base file names, on export,
// and what an import checks before writing.
// Parameters: $dataset (string), $ids (list of int).
MATCH (i:Item {dataset: $dataset})
WHERE i.id IN $ids
RETURN i.id AS id, i.title AS title
ORDER BY id
