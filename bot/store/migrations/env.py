"""Alembic environment: runs on a connection handed in by bot.store.migrate (no alembic.ini)."""

from alembic import context

from bot.store.models import Base

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
