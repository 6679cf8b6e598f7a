// A batch of whole user histories. Each interaction is MERGEd on (user, pos, item), so a rerun or a
// rerun after an interrupted load adds nothing that is already there.
// Deliberately no index on INTERACTED(pos): on an empty store the planner would seek that index for
// this MERGE and the load would turn quadratic; expanding from the bound user is linear.
// Parameters: $dataset (string), $rows (list of {user: int, items: list of int, offset: int});
//             items[k] is the item at position offset + k of that user's time-ordered history.
UNWIND $rows AS row
MATCH (u:User {dataset: $dataset, id: row.user})
UNWIND range(0, size(row.items) - 1) AS k
MATCH (i:Item {dataset: $dataset, id: row.items[k]})
MERGE (u)-[:INTERACTED {pos: row.offset + k}]->(i)
