// Every item of a dataset with its title and attributes, in id order: the catalogue that divergent
// (imagined) items are mapped onto by text embedding.
// Parameters: $dataset (string).
MATCH (i:Item {dataset: $dataset})
RETURN i.id AS id, i.title AS title,
       COLLECT { MATCH (i)-[:HAS_ATTRIBUTE]->(a:Attribute) RETURN a.name AS name ORDER BY name } AS attributes
ORDER BY id
