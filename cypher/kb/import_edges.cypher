// Causal edges of a knowledge-base file: MERGEd on their ids (a new edge keeps the file's reason and date),
// supported by each of its chains that is verified here; support is recounted from those links, so it is
// exact however often the file is imported.
// Parameters: $dataset (string), $rows (list of {id, source, target, reason, model, prompt_version,
//             created_at, chains: list of string}).
UNWIND $rows AS row
MATCH (a:Item {dataset: $dataset, id: row.source})
MATCH (b:Item {dataset: $dataset, id: row.target})
MERGE (e:Edge {id: row.id})
ON CREATE SET e.dataset = $dataset, e.source = row.source, e.target = row.target, e.reason = row.reason,
  e.model = row.model, e.prompt_version = row.prompt_version, e.support = 0,
  e.created_at = datetime(row.created_at)
MERGE (e)-[:FROM]->(a)
MERGE (e)-[:TO]->(b)
WITH e, row
CALL (e, row) {
  UNWIND row.chains AS chain_id
  MATCH (c:Chain {id: chain_id})
  WHERE c.status = 'verified'
  MERGE (e)-[:SUPPORTED_BY]->(c)
}
SET e.support = COUNT { (e)-[:SUPPORTED_BY]->(:Chain) }
