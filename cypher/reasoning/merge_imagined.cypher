// The divergent step of a chain: what the LLM imagined (free text) and the catalogue item it was mapped
// to, with the cosine similarity of the mapping. Runs in the chain's own transaction.
// Parameters: $dataset (string), $chain_id (string), $item (int), $text (string), $reason (string),
//             $similarity (float).
MATCH (c:Chain {id: $chain_id})
MATCH (i:Item {dataset: $dataset, id: $item})
MERGE (c)-[m:IMAGINED]->(i)
ON CREATE SET m.text = $text, m.reason = $reason, m.similarity = $similarity
