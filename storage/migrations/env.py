"""Alembic environment: always given a connection by ``storage._db.upgrade``."""

from alembic import context

from storage._db import VERSION_TABLE
from storage.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "storage migrations run through Registry.open(database_url), not the alembic CLI"
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
