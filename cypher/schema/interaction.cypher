// (:User)-[:INTERACTED {pos}]->(:Item), pos = 0-based position in the user's time order.
// An interaction is identified by (user, pos); MERGE on the pattern keeps reruns exact.
// The index serves prefix filters (pos < t) used when graphs are cut for leave-one-out.
// Parameters: none.
CREATE RANGE INDEX interacted_pos IF NOT EXISTS
FOR ()-[r:INTERACTED]-() ON (r.pos);
