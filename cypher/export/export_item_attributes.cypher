// Item attributes as `kind:name` strings (FDSA's features), ordered for a reproducible export.
// Parameters: $dataset (string).
MATCH (i:Item {dataset: $dataset})-[:HAS_ATTRIBUTE]->(a:Attribute)
RETURN i.id AS item, a.kind + ':' + a.name AS attribute
ORDER BY item, attribute
