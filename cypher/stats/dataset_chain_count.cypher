// Every chain of a dataset, linked to a user or not, whatever its status: zero means the database holds none
// of the dataset's reasoning (a benchmark carried on elsewhere restores it from its exported knowledge base).
// Parameters: $dataset (string).
MATCH (c:Chain {dataset: $dataset})
RETURN count(c) AS chains
