// The indexes present (constraints own an index of the same name), for `llmrg doctor`.
// Parameters: none.
SHOW INDEXES YIELD name, type, entityType, labelsOrTypes, properties, state
RETURN name, type, entityType, labelsOrTypes, properties, state
