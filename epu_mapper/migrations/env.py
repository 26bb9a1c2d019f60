"""Alembic environment: run on the connection :func:`epu_mapper.db.migrate` passes in.

For ``alembic revision`` by hand, ``EPU_MAPPER_DB_URL`` (or the default SQLite file)
is used instead.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from epu_mapper.db import metadata
from epu_mapper.settings import get_settings

connection = context.config.attributes.get("connection")
if connection is None:
    with create_engine(get_settings().db_url).connect() as conn:
        context.configure(connection=conn, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
