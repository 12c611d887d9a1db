"""The HTTP shell: create_app(), settings, database sessions, auth, errors, routers and the CLI."""
