// Names of the stored datasets (the refresh walks each).
// Parameters: none.
MATCH (d:Dataset)
RETURN d.name AS name
ORDER BY name
