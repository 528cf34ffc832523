"""The tracker store `bot run` configures (rasa_tools/tracker_store.py), loaded by Rasa itself
from the endpoints `bot run` writes: the same class (not Rasa's silent in-memory fallback),
SQLite in WAL mode, and trackers that come back event for event, only new events appended."""
from __future__ import annotations

import json
import sqlite3
import subprocess

import pytest
import yaml

from bot.nlu.rasa import RASA_PYTHON
from bot.run import endpoints_yaml
from bot.settings import ROOT, Settings

pytestmark = [pytest.mark.rasa]

PROBE = r"""
import asyncio, json, sys
from rasa.core.tracker_store import create_tracker_store
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config

domain = Domain.from_yaml("slots:\n  place:\n    type: text\n    mappings: [{type: custom}]\n")
config = read_endpoint_config(sys.argv[1], "tracker_store")

async def main():
    store = create_tracker_store(config, domain)
    inner = getattr(store, "_tracker_store", store)
    tracker = DialogueStateTracker.from_events("webchat:abc", [
        SessionStarted(), ActionExecuted("action_listen"),
        UserUttered("小区门口的路灯坏了", {"name": "report", "confidence": 1.0}),
        SlotSet("place", "文化路28号"), BotUttered("请问是在什么地方？")], domain.slots)
    await store.save(tracker)
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)                      # only the new event is appended
    again = await create_tracker_store(config, domain).retrieve("webchat:abc")
    print(json.dumps({"class": type(inner).__module__ + "." + type(inner).__name__,
                      "same": [e.as_dict() for e in again.events] == [e.as_dict() for e in tracker.events],
                      "place": again.get_slot("place"), "events": len(again.events),
                      "missing": await store.retrieve("webchat:nobody") is None},
                     ensure_ascii=False))

asyncio.run(main())
"""


def test_bot_runs_tracker_store_is_loaded_by_rasa_in_wal_mode_and_keeps_every_event(tmp_path):
    endpoints = tmp_path / "endpoints.yml"
    (tmp_path / "var" / "rasa").mkdir(parents=True)
    settings = Settings.from_env({"BOT_VAR_DIR": str(tmp_path / "var")})
    endpoints.write_text(endpoints_yaml(settings), encoding="utf-8")
    db = yaml.safe_load(endpoints.read_text())["tracker_store"]["db"]
    done = subprocess.run([str(RASA_PYTHON), "-c", PROBE, str(endpoints)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out == {"class": "rasa_tools.tracker_store.LocalSQLTrackerStore", "same": True,
                   "place": "文化路28号", "events": 6, "missing": True}
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("SELECT count(*) FROM events").fetchone()[0] == 6


SAME_AS_RASA = r"""
import asyncio, json, sqlite3, sys
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_tools.tracker_store import LocalSQLTrackerStore

domain = Domain.from_yaml("slots:\n  place:\n    type: text\n    mappings: [{type: custom}]\n")
ours_db, rasas_db = sys.argv[1], sys.argv[2]

def session(t, place):
    return [ActionExecuted("action_session_start", timestamp=t), SessionStarted(timestamp=t + 0.1),
            ActionExecuted("action_listen", timestamp=t + 0.2),
            UserUttered("路灯坏了", {"name": "report", "confidence": 0.9}, timestamp=t + 0.3),
            SlotSet("place", place, timestamp=t + 0.4), BotUttered("好的", {"buttons": []}, timestamp=t + 0.5)]

def dicts(tracker):
    return None if tracker is None else [e.as_dict() for e in tracker.events]

def rows(db):
    with sqlite3.connect(db) as c:
        return c.execute("SELECT sender_id, type_name, timestamp, intent_name, action_name, data "
                         "FROM events ORDER BY id").fetchall()

async def main():
    ours = LocalSQLTrackerStore(domain=domain, dialect="sqlite", db=ours_db)
    rasas = SQLTrackerStore(domain=domain, dialect="sqlite", db=rasas_db)
    events = session(1000.0, "文化路28号") + session(9000.0, "幸福小区")
    for store in (ours, rasas):
        tracker = DialogueStateTracker.from_events("telegram:42", events[:6], domain.slots)
        await store.save(tracker)
        for event in events[6:]:
            tracker.update(event)
        await store.save(tracker)
    reader = SQLTrackerStore(domain=domain, dialect="sqlite", db=ours_db)   # Rasa reads ours
    out = {"rows_same": rows(ours_db) == rows(rasas_db), "rows": len(rows(ours_db)),
           "latest_same": dicts(await ours.retrieve("telegram:42")) == dicts(await reader.retrieve("telegram:42")),
           "full_same": dicts(await ours.retrieve_full_tracker("telegram:42")) == dicts(await reader.retrieve_full_tracker("telegram:42")),
           "latest": len(dicts(await ours.retrieve("telegram:42"))),
           "place": (await ours.retrieve("telegram:42")).get_slot("place"),
           "nobody": await ours.retrieve("telegram:0") is None}
    print(json.dumps(out, ensure_ascii=False))

asyncio.run(main())
"""


def test_core_queries_write_and_read_exactly_what_rasas_own_store_does(tmp_path):
    done = subprocess.run([str(RASA_PYTHON), "-c", SAME_AS_RASA, str(tmp_path / "ours.db"),
                           str(tmp_path / "rasas.db")], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    # 13 rows for 12 events, in both files: Rasa counts what is stored from the latest
    # session_started on, and this tracker also holds the action_session_start before it
    assert out == {"rows_same": True, "rows": 13, "latest_same": True, "full_same": True,
                   "latest": 5, "place": "幸福小区", "nobody": True}
