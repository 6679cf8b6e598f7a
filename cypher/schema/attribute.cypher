// Item attributes (genre, category, brand) are shared nodes keyed by (dataset, kind, name),
// linked from items by (:Item)-[:HAS_ATTRIBUTE]->(:Attribute).
// Parameters: none.
CREATE CONSTRAINT attribute_key IF NOT EXISTS
FOR (a:Attribute) REQUIRE (a.dataset, a.kind, a.name) IS UNIQUE;
