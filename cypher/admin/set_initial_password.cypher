// Replace the server's first-start password (run once, on the system database, as neo4j/neo4j).
// Parameters: $old (string), $new (string).
ALTER CURRENT USER SET PASSWORD FROM $old TO $new
