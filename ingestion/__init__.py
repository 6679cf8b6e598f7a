"""Datasets into Neo4j: readers turn source files into validated records; the loader writes them."""
