"""The account bootstrap (project ``nexus-bootstrap`` in bootstrap/): config, composition, offline preview."""
