// Causal edges of the knowledge base: (:Edge {id, dataset, source, target, reason, model, prompt_version,
// support, created_at}) for each link a -> b of a verified chain, with (e)-[:FROM]->(a:Item),
// (e)-[:TO]->(b:Item) and (e)-[:SUPPORTED_BY]->(:Chain) for every verified chain that holds the link
// (support counts them). ids hash dataset, source, target, prompt version and model, so a redelivered write
// MERGEs onto the same node. The (dataset, target) index serves the knowledge base's edge lookups.
// Parameters: none.
CREATE CONSTRAINT edge_id IF NOT EXISTS
FOR (e:Edge) REQUIRE e.id IS UNIQUE;
CREATE INDEX edge_target IF NOT EXISTS
FOR (e:Edge) ON (e.dataset, e.target);
