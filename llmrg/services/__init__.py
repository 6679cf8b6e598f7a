"""Local services the project starts itself when there is no docker: Neo4j and Redis."""
