"""`bot trackers purge` on Rasa's SQL tracker store (its real table layout), SQLite and
PostgreSQL: idle conversations go whole, live ones lose only sessions Rasa no longer reads."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, create_engine, select

from bot.trackers import DAY, purge
from tests.conftest import ROOT

BOT = str(Path(sys.executable).with_name("bot"))
NOW = 1_800_000_000.0

# The columns of rasa.core.tracker_store.SQLTrackerStore.SQLEvent (Rasa 3.6).
metadata = MetaData()
events = Table("events", metadata, Column("id", Integer, primary_key=True),
               Column("sender_id", String(255), nullable=False, index=True),
               Column("type_name", String(255), nullable=False), Column("timestamp", Float),
               Column("intent_name", String(255)), Column("action_name", String(255)),
               Column("data", Text))


def seed(engine, now: float = NOW) -> None:
    metadata.create_all(engine)
    rows = []

    def add(sender, type_name, days_ago, text=None):
        rows.append({"sender_id": sender, "type_name": type_name,
                     "timestamp": now - days_ago * DAY,
                     "data": json.dumps({"text": text}, ensure_ascii=False)})

    # old: a conversation that ended 40 days ago
    add("old", "session_started", 41); add("old", "user", 40, "楼下太吵了")
    # live: an old session 50 days ago, a new one 2 days ago
    add("live", "session_started", 50); add("live", "user", 50, "我家漏水")
    add("live", "session_started", 2); add("live", "slot", 2); add("live", "user", 1, "进展怎样")
    # recent: everything within the month
    add("recent", "session_started", 10); add("recent", "user", 10, "路灯坏了")
    with engine.begin() as conn:
        conn.execute(events.insert(), rows)


def remaining(engine) -> dict[str, list[str]]:
    with engine.connect() as conn:
        out: dict[str, list[str]] = {}
        for sender, type_name in conn.execute(select(events.c.sender_id, events.c.type_name)
                                              .order_by(events.c.id)):
            out.setdefault(sender, []).append(type_name)
        return out


def test_purge_removes_idle_conversations_and_unread_old_sessions(database_url):
    engine = create_engine(database_url)
    seed(engine)
    dry = purge(engine, 30, now=NOW, dry_run=True)
    assert (dry.conversations_removed, dry.events_removed, dry.events_left) == (1, 4, 9)
    assert len(remaining(engine)["old"]) == 2            # a dry run removes nothing
    result = purge(engine, 30, now=NOW)
    assert (result.conversations_removed, result.events_removed, result.events_left) == (1, 4, 5)
    assert remaining(engine) == {"live": ["session_started", "slot", "user"],
                                 "recent": ["session_started", "user"]}
    again = purge(engine, 30, now=NOW)
    assert (again.conversations_removed, again.events_removed) == (0, 0)
    engine.dispose()


def test_purge_with_zero_days_keeps_only_the_current_session_of_no_one(database_url):
    engine = create_engine(database_url)
    seed(engine)
    result = purge(engine, 0, now=NOW)
    assert result.events_left == 0 and result.conversations_removed == 3
    engine.dispose()


def test_command_purges_the_store_bot_run_writes(tmp_path):
    store = tmp_path / "var" / "rasa" / "tracker.db"
    store.parent.mkdir(parents=True)
    engine = create_engine(f"sqlite:///{store}")
    seed(engine, now=time.time())
    env = {**os.environ, "BOT_VAR_DIR": str(tmp_path / "var")}
    env.pop("TRACKER_STORE_URL", None)
    proc = subprocess.run([BOT, "trackers", "purge", "--older-than", "30", "--json"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["conversations_removed"] == 1 and report["dry_run"] is False
    assert report["events_removed"] == 4 and set(remaining(engine)) == {"live", "recent"}
    missing = subprocess.run([BOT, "trackers", "purge", "--older-than", "30", "--url",
                              f"sqlite:///{tmp_path / 'none.db'}"],
                             capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert missing.returncode == 0 and "无需清理" in missing.stdout
    assert not (tmp_path / "none.db").exists()
    bad = subprocess.run([BOT, "trackers", "purge", "--older-than", "-1"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert bad.returncode == 2
    engine.dispose()
