// Answers: which items' explanations changed after a knowledge-base refresh? Chains into each item whose
// re-verification moved their score or retired them, with the score before and after.
// Parameters: $dataset (string).
MATCH (c:Chain {dataset: $dataset})
WHERE c.previous_score IS NOT NULL AND (c.status = 'retired' OR c.score <> c.previous_score)
MATCH (target:Item {dataset: $dataset, id: c.target})
RETURN target.id AS item, target.title AS title, c.id AS chain, c.previous_score AS previous_score,
       c.score AS score, c.status AS status
ORDER BY item, chain
