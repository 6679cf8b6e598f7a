// One more check of a stored chain: its evidence lists with the new record, the sums, the summed score and the
// status they give (`reasoning/evidence.py`). A chain retired here leaves the graphs like one a refresh fails.
// Parameters: $chain_id (string), $verdict (map: evidence_ids, evidence_masks, evidence_hits, masks, hits,
//             score, status, reject_reason).
MATCH (c:Chain {id: $chain_id})
SET c += $verdict, c.checked_at = datetime(),
    c.retired_at = CASE WHEN $verdict.status = 'retired' AND c.status <> 'retired' THEN datetime() ELSE c.retired_at END
