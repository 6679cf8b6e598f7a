// The causal edges of one verified chain: one Edge per link, supported by the chain (once, however often the
// write is redelivered or the chain is verified again for another user). The first reason written for an
// edge stays its reason.
// Parameters: $dataset (string), $chain_id (string), $model (string), $prompt_version (string),
//             $edges (list of {id, source, target, reason}).
MATCH (c:Chain {id: $chain_id})
UNWIND $edges AS edge
MATCH (a:Item {dataset: $dataset, id: edge.source})
MATCH (b:Item {dataset: $dataset, id: edge.target})
MERGE (e:Edge {id: edge.id})
ON CREATE SET e.dataset = $dataset, e.source = edge.source, e.target = edge.target, e.reason = edge.reason,
  e.model = $model, e.prompt_version = $prompt_version, e.support = 0, e.created_at = datetime()
MERGE (e)-[:FROM]->(a)
MERGE (e)-[:TO]->(b)
MERGE (e)-[s:SUPPORTED_BY]->(c)
ON CREATE SET e.support = e.support + 1
