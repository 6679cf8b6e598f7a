// One node per dataset; every user, item and attribute carries its dataset's name as part of its key.
// Parameters: none.
CREATE CONSTRAINT dataset_name IF NOT EXISTS
FOR (d:Dataset) REQUIRE d.name IS UNIQUE;
