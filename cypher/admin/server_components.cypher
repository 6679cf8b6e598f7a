// Server name, version and edition, for `llmrg doctor`.
// Parameters: none.
CALL dbms.components() YIELD name, versions, edition
RETURN name, versions[0] AS version, edition
