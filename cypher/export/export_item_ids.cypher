// Every item id of a dataset, ascending: the exporter numbers them 1..n in this order (stable id map).
// Parameters: $dataset (string).
MATCH (i:Item {dataset: $dataset})
RETURN i.id AS id
ORDER BY id
