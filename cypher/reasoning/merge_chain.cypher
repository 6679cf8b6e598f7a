// One chain and its ordered steps. MERGE on the deterministic id: a redelivered write changes nothing.
// Step i of the chain points at its i-th item; `reason` explains the link from step i-1 to step i.
// The id leaves the user out (the chain is a knowledge-base entry), so another user's prompt can propose
// a chain already stored: its verdict then changes only through its accumulated evidence
// (`record_chain_check.cypher`), never by this statement.
// Parameters: $dataset (string), $chain (map: id, kind, target, premises, items, recent_premises, score,
//             status, reject_reason, masks, hits, model, prompt_version), $steps (list of {i, item, reason}).
MERGE (c:Chain {id: $chain.id})
ON CREATE SET c += $chain, c.dataset = $dataset, c.created_at = datetime(), c.hit_count = 0
WITH c
UNWIND $steps AS step
MATCH (i:Item {dataset: $dataset, id: step.item})
MERGE (c)-[s:STEP {i: step.i}]->(i)
ON CREATE SET s.reason = step.reason
