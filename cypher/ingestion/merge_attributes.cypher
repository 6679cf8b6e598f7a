// Attribute nodes of one dataset.
// Parameters: $dataset (string), $rows (list of {kind: string, name: string}).
UNWIND $rows AS row
MERGE (:Attribute {dataset: $dataset, kind: row.kind, name: row.name})
