// The first $limit user ids of a dataset, in id order (`llmrg reason --users N`).
// Parameters: $dataset (string), $limit (int).
MATCH (u:User {dataset: $dataset})
RETURN u.id AS id
ORDER BY id
LIMIT $limit
