"""φ of the paper: LLM reasoning graphs with self-verification and a knowledge base kept in Neo4j."""
