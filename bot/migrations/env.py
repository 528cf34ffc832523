"""Alembic environment: the connection comes from `bot.migrate`, never from alembic.ini."""
from alembic import context

from bot.schema import product_metadata

config = context.config
connection = config.attributes["connection"]
context.configure(connection=connection, target_metadata=product_metadata(),
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
