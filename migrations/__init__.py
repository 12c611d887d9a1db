"""Alembic migrations: one history for the whole schema, shipped as a package."""
