// How many divergent chains are linked to a user at any step of one window (accepted or refused). A window's
// extension is written after its reasoning chains and before the window is marked answered; a rerun of a window
// cut off while its extension was being written finds some here and does not imagine again (the divergent prompt
// samples at a temperature above 0, so a second extension would add other chains, not merge with these). The
// whole window is looked at because the stamp can move between attempts (a knowledge-base hit for its last step).
// Parameters: $dataset (string), $user (int), $positions (list of int: the window's steps).
MATCH (:User {dataset: $dataset, id: $user})-[link:HAS_CHAIN|PROPOSED]->(:Chain {kind: 'divergent'})
WHERE link.t IN $positions
RETURN count(link) AS links
