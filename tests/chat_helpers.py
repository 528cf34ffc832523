"""Tracker fixtures for action tests: build a rasa-sdk Tracker, run an action, read replies."""
from __future__ import annotations

import asyncio
import inspect

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from tests.conftest import make_container

SENDER = "telegram:10001"


def tracker(text: str | None = None, *, intent: str = "report", sender: str = SENDER,
            slots: dict | None = None, entities: list[tuple[str, str]] = (),
            ranking: list[tuple[str, float]] | None = None, events: list[dict] | None = None,
            message_id: str = "m-1", active_loop: str | None = None) -> Tracker:
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.99},
              "entities": [{"entity": name, "value": value} for name, value in entities],
              "message_id": message_id, "metadata": {}}
    if ranking is not None:
        ranked = [{"code": code, "confidence": conf} for code, conf in ranking]
        latest["report_category"] = {**ranked[0], "ranking": ranked} if ranked else {"ranking": []}
    user_event = {"event": "user", "text": text, "parse_data": latest}
    return Tracker(sender, dict(slots or {}), latest, list(events or []) + [user_event], False, None,
                   {"name": active_loop} if active_loop else {}, "action_listen")


def run(action, tk: Tracker, domain: dict | None = None) -> tuple[list, list[dict]]:
    dispatcher = CollectingDispatcher()
    result = action.run(dispatcher, tk, domain or {})
    if inspect.isawaitable(result):
        result = asyncio.run(result)
    return result, dispatcher.messages


def texts(messages: list[dict]) -> list[str]:
    return [m.get("text") or m.get("response") for m in messages]


def slots(events: list) -> dict:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


@pytest.fixture
def chat(sqlite_url, tmp_path, clock):
    """A real SQLite case store behind the actions; yields the container."""
    container = make_container(sqlite_url, tmp_path)
    container.cases.clock = clock
    runtime.use(container)
    yield container
    runtime.use(None)
    container.engine.dispose()


__all__ = ["SENDER", "SlotSet", "chat", "run", "slots", "texts", "tracker"]
