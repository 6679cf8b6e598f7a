// Users are keyed by (dataset, id): ids are only unique inside their dataset.
// Community Edition has no NODE KEY, so the key is a composite uniqueness constraint.
// Parameters: none.
CREATE CONSTRAINT user_key IF NOT EXISTS
FOR (u:User) REQUIRE (u.dataset, u.id) IS UNIQUE;
