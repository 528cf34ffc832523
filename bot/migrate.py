"""`bot db upgrade`: Alembic migrations, then the reference data from the data files."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.catalog import Catalog
from bot.cases.reference import sync_reference

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, catalog: Catalog, revision: str = "head") -> None:
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)
    with Session(engine) as session, session.begin():
        sync_reference(session, catalog)


def revision(engine: Engine, message: str) -> None:
    """Developer helper: autogenerate a migration against an up-to-date database."""
    with engine.begin() as connection:
        command.revision(alembic_config(connection), message=message, autogenerate=True)
