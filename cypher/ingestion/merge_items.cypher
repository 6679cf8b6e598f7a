// Items with their titles, and the links to their attributes (which must already exist).
// Parameters: $dataset (string), $rows (list of {id: int, title: string or null,
//             attributes: list of {kind: string, name: string}}).
UNWIND $rows AS row
MERGE (i:Item {dataset: $dataset, id: row.id})
SET i.title = row.title
WITH i, row
UNWIND row.attributes AS attr
MATCH (a:Attribute {dataset: $dataset, kind: attr.kind, name: attr.name})
MERGE (i)-[:HAS_ATTRIBUTE]->(a)
