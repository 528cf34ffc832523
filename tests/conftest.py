"""Shared fixtures: real databases (SQLite file, PostgreSQL when reachable), a movable clock."""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.container import Container
from bot.settings import ROOT, Settings

CI = os.environ.get("CI") == "true"


class Clock:
    """A clock the tests move by hand; starts on a Monday morning, Beijing time."""

    def __init__(self, start: datetime = datetime(2026, 11, 23, 1, 0, 0)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> None:
        self.now += timedelta(**kwargs)


def _postgres_admin_url() -> str | None:
    url = os.environ.get("TEST_POSTGRES_URL")
    if url:
        return url
    if CI:
        pytest.fail("CI=true but TEST_POSTGRES_URL is not set: PostgreSQL tests are required")
    return None


@pytest.fixture(scope="session")
def postgres_server() -> str:
    url = _postgres_admin_url()
    if url is None:
        pytest.skip("PostgreSQL not available (set TEST_POSTGRES_URL or run scripts/test.sh)")
    try:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 - report any connection failure the same way
        if CI:
            pytest.fail(f"CI=true and PostgreSQL is unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    return url


def new_postgres_database(admin_url: str) -> str:
    name = f"jj_test_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_postgres_database(admin_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cases.db'}"
        return
    admin = request.getfixturevalue("postgres_server")
    url = new_postgres_database(admin)
    yield url
    drop_postgres_database(admin, url)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'cases.db'}"


def make_container(url: str, tmp_path: Path, **env) -> Container:
    settings = Settings.from_env({"DATABASE_URL": url, "BOT_VAR_DIR": str(tmp_path / "var"),
                                  "BOT_DATA_DIR": str(ROOT / "data"), **env})
    container = Container(settings)
    container.upgrade()
    return container


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _clocked(url: str, tmp_path: Path, clock: Clock):
    c = make_container(url, tmp_path)
    c.cases.clock = clock
    yield c
    c.engine.dispose()


@pytest.fixture
def container(database_url, tmp_path, clock) -> Container:
    yield from _clocked(database_url, tmp_path, clock)


@pytest.fixture
def sqlite_container(sqlite_url, tmp_path, clock) -> Container:
    yield from _clocked(sqlite_url, tmp_path, clock)


@pytest.fixture
def service(container):
    return container.cases
