"""Alembic migrations of the storage registry, run by ``storage._db.upgrade``."""
