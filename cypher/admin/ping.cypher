// Readiness probe: the default database answers a query.
// Parameters: none.
RETURN 1 AS ok
