// Reasoning chains: (:Chain {id, dataset, kind, target, premises, items, recent_premises, score, status,
// reject_reason, model, prompt_version, created_at, hit_count, last_used_at}); a chain merged from a
// knowledge-base file also keeps its verification evidence as parallel lists (evidence_ids, evidence_masks,
// evidence_hits) whose sums are masks and hits.
// ids are deterministic (hash of kind, dataset, ordered items, prompt version, model), so redelivered work
// MERGEs onto the same node. The (dataset, target) index serves knowledge-base lookups.
// Parameters: none.
CREATE CONSTRAINT chain_id IF NOT EXISTS
FOR (c:Chain) REQUIRE c.id IS UNIQUE;
CREATE INDEX chain_target IF NOT EXISTS
FOR (c:Chain) ON (c.dataset, c.target);
