// Items are keyed by (dataset, id); titles are searchable for exploration queries.
// Parameters: none.
CREATE CONSTRAINT item_key IF NOT EXISTS
FOR (i:Item) REQUIRE (i.dataset, i.id) IS UNIQUE;
CREATE TEXT INDEX item_title IF NOT EXISTS
FOR (i:Item) ON (i.title);
