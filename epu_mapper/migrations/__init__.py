"""Alembic migrations of the corrections database, run by :func:`epu_mapper.db.migrate`."""
