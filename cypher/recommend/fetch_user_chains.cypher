// One user's chains that enter the graphs under $statuses, with the step t that linked each: the user's
// reasoning graphs for serving, by the exporter's rule (export/export_user_chains.cypher: PROPOSED links of
// rejected chains count only when $statuses admits 'rejected').
// Parameters: $dataset (string), $user (int), $statuses (list of string).
MATCH (:User {dataset: $dataset, id: $user})-[link:HAS_CHAIN|PROPOSED]->(c:Chain)
WHERE c.status IN $statuses AND (type(link) = 'HAS_CHAIN' OR 'rejected' IN $statuses)
WITH c, min(link.t) AS t
RETURN t, c.kind AS kind, c.items AS items
ORDER BY t, kind, items
