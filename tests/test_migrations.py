"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.schema import product_metadata


def test_migrations_match_the_models(container):
    with container.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), product_metadata())
    assert diff == []


def test_upgrade_is_idempotent_and_loads_reference_data(container):
    container.upgrade()  # second run: no error, nothing duplicated
    tables = set(inspect(container.engine).get_table_names())
    assert {"cases", "events", "outbox", "areas", "bodies", "agents", "categories",
            "telegram_updates"} <= tables
    with container.engine.connect() as conn:
        from sqlalchemy import text

        assert conn.execute(text("select count(*) from categories")).scalar() == len(container.catalog.categories)
        assert conn.execute(text("select count(*) from areas")).scalar() == len(container.catalog.areas)
