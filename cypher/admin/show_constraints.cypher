// The schema constraints present, for `llmrg doctor`.
// Parameters: none.
SHOW CONSTRAINTS YIELD name, type, labelsOrTypes, properties
RETURN name, type, labelsOrTypes, properties
