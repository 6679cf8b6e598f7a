// How many divergent chains are linked to a user at step t (accepted or refused). A window's extension is
// written after its reasoning chains and before the window is marked answered; a rerun of a window cut off
// while its extension was being written finds some here and does not imagine again (the divergent prompt
// samples at a temperature above 0, so a second extension would add other chains, not merge with these).
// Parameters: $dataset (string), $user (int), $t (int).
MATCH (:User {dataset: $dataset, id: $user})-[link:HAS_CHAIN|PROPOSED]->(:Chain {kind: 'divergent'})
WHERE link.t = $t
RETURN count(link) AS links
