// Chains of a knowledge-base file. A new chain is created with the file's properties and dates (a re-export
// gives the same file); a stored one takes its row's `merged`, the union of its evidence with the file's computed by
// the importer (an empty map when the file adds nothing, so a second import changes nothing). Steps and the
// imagined step are MERGEd like the engine's.
// Parameters: $dataset (string), $rows (list of {id, created: map, created_at: string, merged: map,
//             steps: list of {i, item, reason}, imagined: map or null}).
UNWIND $rows AS row
MERGE (c:Chain {id: row.id})
ON CREATE SET c += row.created, c.dataset = $dataset, c.created_at = datetime(row.created_at), c.hit_count = 0
ON MATCH SET c += row.merged
WITH c, row
CALL (c, row) {
  UNWIND row.steps AS step
  MATCH (i:Item {dataset: $dataset, id: step.item})
  MERGE (c)-[s:STEP {i: step.i}]->(i)
  ON CREATE SET s.reason = step.reason
}
CALL (c, row) {
  WITH row
  WHERE row.imagined IS NOT NULL
  MATCH (i:Item {dataset: $dataset, id: row.imagined.item})
  MERGE (c)-[m:IMAGINED]->(i)
  ON CREATE SET m.text = row.imagined.text, m.reason = row.imagined.reason, m.similarity = row.imagined.similarity
}
