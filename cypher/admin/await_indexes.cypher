// Block until every index (including those owned by constraints) is online.
// Parameters: none.
CALL db.awaitIndexes(300)
