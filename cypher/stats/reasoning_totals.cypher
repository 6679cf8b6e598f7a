// Everything reasoning stored for a dataset, for comparing two runs over the same users: chains by status,
// the checks summed over chains (masks, hits), user links (accepted and proposed), chain steps, causal edges
// (all, and those a verified chain still supports), answered positions, and the duplicate keys that must be
// zero (two chains with the same kind, items, model and prompt; two links between one user and one chain).
// One statement.
// Parameters: $dataset (string).
CALL () {
  MATCH (c:Chain {dataset: $dataset})
  RETURN count(c) AS chains, count(CASE WHEN c.status = 'verified' THEN 1 END) AS verified,
         count(CASE WHEN c.status = 'rejected' THEN 1 END) AS rejected,
         count(CASE WHEN c.status = 'retired' THEN 1 END) AS retired,
         sum(coalesce(c.masks, 0)) AS masks, sum(coalesce(c.hits, 0)) AS hits,
         sum(COUNT { (c)-[:STEP]->() }) AS steps
}
CALL () {
  MATCH (:User {dataset: $dataset})-[l:HAS_CHAIN]->()
  RETURN count(l) AS accepted_links
}
CALL () {
  MATCH (:User {dataset: $dataset})-[l:PROPOSED]->()
  RETURN count(l) AS proposed_links
}
CALL () {
  MATCH (e:Edge {dataset: $dataset})
  RETURN count(e) AS edges, count(CASE WHEN e.support > 0 THEN 1 END) AS supported_edges
}
CALL () {
  MATCH (u:User {dataset: $dataset})
  RETURN sum(size(coalesce(u.reasoned_positions, []))) AS positions,
         count(CASE WHEN size(coalesce(u.reasoned_positions, [])) > 0 THEN 1 END) AS users_reasoned
}
CALL () {
  MATCH (c:Chain {dataset: $dataset})
  WITH c.kind AS kind, c.items AS items, c.model AS model, c.prompt_version AS prompt, count(*) AS n
  WHERE n > 1
  RETURN count(*) AS duplicate_chains
}
CALL () {
  MATCH (u:User {dataset: $dataset})-[l:HAS_CHAIN|PROPOSED]->(c:Chain)
  WITH u, c, type(l) AS kind, count(l) AS n
  WHERE n > 1
  RETURN count(*) AS duplicate_links
}
RETURN chains, verified, rejected, retired, masks, hits, steps, accepted_links, proposed_links, edges,
       supported_edges, positions, users_reasoned, duplicate_chains, duplicate_links
