// Knowledge-base lookup for one step: verified reasoning chains into $target whose recent premises (those
// within the last few positions before the target when the chain was made) are among this user's recent
// items, and whose every premise is in this user's history before the target.
// Parameters: $dataset (string), $target (int), $recent (list of int), $history (list of int),
//             $limit (int).
MATCH (c:Chain {dataset: $dataset, target: $target})
WHERE c.kind = 'reasoning' AND c.status = 'verified'
  AND all(p IN c.recent_premises WHERE p IN $recent)
  AND all(p IN c.premises WHERE p IN $history)
RETURN c.id AS id, c.items AS items, c.score AS score
ORDER BY c.score DESC, c.hit_count DESC, c.id
LIMIT $limit
