// One chain and its ordered steps. MERGE on the deterministic id: a redelivered write changes nothing.
// Step i of the chain points at its i-th item; `reason` explains the link from step i-1 to step i.
// The id leaves the user out (the chain is a knowledge-base entry), so another user's prompt can propose
// a chain already stored. A stored rejection yields to a later verification, whose score and masks replace
// it: the chain then holds the verdict that lets the verifying user link it (HAS_CHAIN only ever points at
// an accepted chain), and evidence merged from knowledge-base files goes with the rejection. Any other
// verdict leaves the stored one as it is.
// Parameters: $dataset (string), $chain (map: id, kind, target, premises, items, recent_premises, score,
//             status, reject_reason, masks, hits, model, prompt_version), $steps (list of {i, item, reason}).
MERGE (c:Chain {id: $chain.id})
ON CREATE SET c += $chain, c.dataset = $dataset, c.created_at = datetime(), c.hit_count = 0
ON MATCH SET c += CASE
  WHEN c.status = 'rejected' AND $chain.status = 'verified'
    THEN {status: 'verified', score: $chain.score, masks: $chain.masks, hits: $chain.hits, reject_reason: null,
          evidence_ids: null, evidence_masks: null, evidence_hits: null}
  ELSE {}
END
WITH c
UNWIND $steps AS step
MATCH (i:Item {dataset: $dataset, id: step.item})
MERGE (c)-[s:STEP {i: step.i}]->(i)
ON CREATE SET s.reason = step.reason
