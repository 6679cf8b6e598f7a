// Whether a dataset is stored (no row when it is not), before a knowledge base is exported from or imported into it.
// Parameters: $dataset (string).
MATCH (d:Dataset {name: $dataset})
RETURN d.status AS status
