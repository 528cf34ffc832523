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
