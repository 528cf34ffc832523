"""The web door's API-key cache (bot/open311/keys.py): a live key is looked up once per
CACHE_SECONDS; a key revoked or replaced in this process is refused at the next request,
one revoked by another process within CACHE_SECONDS; unknown keys are never remembered."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import event, update

from bot.db import make_engine
from bot.open311.keys import CACHE_SECONDS, ApiKeys, digest
from bot.open311.models import clients

NOW = datetime(2026, 12, 2, 9, 0)


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def keys(container):
    ticks = Ticks()
    cached = ApiKeys(container.engine, cache_seconds=CACHE_SECONDS, clock=ticks)
    lookups = []

    @event.listens_for(container.engine, "before_cursor_execute")
    def _(conn, cursor, statement, *args):
        if "FROM open311_clients" in statement:
            lookups.append(statement)
    return cached, ticks, lookups


def other_process_revokes(database_url: str, name: str) -> None:
    """What `bot open311 key revoke` does from its own process: no in-process notice."""
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(update(clients).where(clients.c.name == name).values(revoked_at=NOW))
    engine.dispose()


def test_a_live_key_is_looked_up_once_per_ttl(keys, container):
    cached, ticks, lookups = keys
    key = ApiKeys(container.engine).create("city-app", NOW)
    lookups.clear()
    assert [cached.find(key).name for _ in range(50)] == ["city-app"] * 50
    assert len(lookups) == 1
    ticks.now += CACHE_SECONDS + 0.01
    assert cached.find(key).name == "city-app" and len(lookups) == 2


def test_revoked_or_replaced_in_this_process_is_refused_at_once(keys, container):
    cached, _, _ = keys
    other = ApiKeys(container.engine)                  # e.g. an admin call, not the door's
    key = other.create("city-app", NOW)
    assert cached.find(key).name == "city-app"
    assert other.revoke("city-app", NOW)
    assert cached.find(key) is None
    renewed = other.create("city-app", NOW)            # a new key replaces the old one
    assert cached.find(renewed).name == "city-app"
    newer = other.create("city-app", NOW)
    assert cached.find(renewed) is None and cached.find(newer).name == "city-app"


def test_revoked_by_another_process_is_refused_within_the_ttl(keys, container, database_url):
    cached, ticks, _ = keys
    key = ApiKeys(container.engine).create("city-app", NOW)
    assert cached.find(key).name == "city-app"
    other_process_revokes(database_url, "city-app")
    ticks.now += CACHE_SECONDS / 2
    assert cached.find(key).name == "city-app"         # the bound: up to CACHE_SECONDS
    ticks.now += CACHE_SECONDS / 2 + 0.01
    assert cached.find(key) is None
    assert cached.find(key) is None                     # and stays refused


def test_unknown_keys_are_never_remembered(keys, container):
    cached, _, lookups = keys
    key = "jj311_" + "x" * 43
    assert cached.find(key) is None and cached.find(key) is None
    assert len(lookups) == 2                            # asked each time
    with container.engine.begin() as conn:             # the key appears (another process)
        conn.execute(clients.insert().values(name="late", key_hash=digest(key), created_at=NOW))
    assert cached.find(key).name == "late"
    assert cached.find("not-a-key") is None and len(lookups) == 3    # malformed: never asked


def test_without_cache_seconds_every_lookup_asks_the_database(container, database_url):
    plain = ApiKeys(container.engine)
    key = plain.create("city-app", NOW)
    assert plain.find(key).name == "city-app"
    other_process_revokes(database_url, "city-app")
    assert plain.find(key) is None
