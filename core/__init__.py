"""The floor of the house: settings, errors, the Neo4j gateway and the one vocabulary of names.

Everything else imports from here and nothing here imports anything of the project but `cypher`
(the statement files), so a name or a setting has exactly one home.
"""
