"""Start-up: a message that arrives while Rasa is still loading waits for it and is answered
once Rasa is ready, never with "系统正忙" (issue 12, part 5). Real app and chat store served
on 127.0.0.1; the stand-in Rasa starts late on its port, as `rasa run` does."""
from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest

import bot.web.relay as relay
from bot.channels.rasa_gateway import RasaGateway
from bot.channels.telegram.runner import wait_for_dialogue
from tests.web_support import FakeRasa, free_port, live_server, web_settings


@pytest.fixture
def late_rasa(tmp_path, monkeypatch):
    """(fake Rasa not yet serving, its port, app base URL); the app waits for Rasa 60 s."""
    from bot.web.app import create_app
    from tests.conftest import make_container

    monkeypatch.setattr(relay, "STARTUP_HOLD", 1.0)
    port = free_port()
    rasa_url = f"http://127.0.0.1:{port}"
    container = make_container(f"sqlite:///{tmp_path / 'cases.db'}", tmp_path, RASA_URL=rasa_url)
    app = create_app(container, web=web_settings(rasa_url, rasa_startup_wait=60.0), background=True)
    try:
        with live_server(app) as base:
            yield FakeRasa(container.cases), port, base
    finally:
        container.engine.dispose()


def _later(seconds: float, fake: FakeRasa, port: int, started: list) -> threading.Thread:
    def serve() -> None:
        time.sleep(seconds)
        with live_server(fake.app(), port):
            started.append(time.monotonic())
            while len(started) < 2:
                time.sleep(0.05)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_a_message_before_rasa_is_ready_is_kept_and_answered_once_it_is(late_rasa):
    fake, port, base = late_rasa
    with httpx.Client(base_url=base, timeout=20) as client:
        client.get("/api/chat/session")
        sent = client.post("/api/chat/message", json={"text": "我要反映问题"})
        assert sent.status_code == 202 and sent.json()["queued"] is True
        said = sent.json()["messages"][0]["text"]
        assert said == relay.STARTING_REPLY and "系统正忙" not in said and "忙" not in said
        time.sleep(1.0)                  # Rasa still loading: nothing sent, no retry spent
        assert fake.received == []
        started: list = []
        thread = _later(0.0, fake, port, started)
        try:
            deadline = time.monotonic() + 15
            items = []
            while time.monotonic() < deadline and not items:
                items = client.get("/api/chat/updates").json()["items"]
                time.sleep(0.2)
            texts = [m["text"] for i in items for m in i["messages"]]
            assert texts == ["好的，请说说您遇到了什么问题，在什么地方？"]
            time.sleep(1.0)              # the retry loop does not send it a second time
            assert [r["message"] for r in fake.received] == ["我要反映问题"]
        finally:
            started.append("done")
            thread.join(10)


def test_a_message_while_rasa_finishes_loading_gets_its_answer_in_the_request(late_rasa):
    fake, port, base = late_rasa
    started: list = []
    with httpx.Client(base_url=base, timeout=20) as client:
        client.get("/api/chat/session")
        thread = _later(0.3, fake, port, started)
        try:
            sent = client.post("/api/chat/message", json={"text": "我要反映问题"})
            assert sent.status_code == 200, sent.text
            assert sent.json()["messages"][0]["text"] == "好的，请说说您遇到了什么问题，在什么地方？"
            assert len(fake.received) == 1
        finally:
            started.append("done")
            thread.join(10)


def test_telegram_takes_updates_only_once_rasa_is_ready(tmp_path):
    from tests.conftest import make_container

    port = free_port()
    container = make_container(f"sqlite:///{tmp_path / 'cases.db'}", tmp_path)
    fake, started = FakeRasa(container.cases), []

    async def scenario() -> tuple[bool, float, bool]:
        gateway = RasaGateway(f"http://127.0.0.1:{port}")
        stop = asyncio.Event()
        begun = time.monotonic()
        thread = _later(1.0, fake, port, started)
        try:
            ready = await wait_for_dialogue(gateway, stop)
            waited = time.monotonic() - begun
        finally:
            started.append("done")
            await asyncio.to_thread(thread.join, 10)
        stopped = asyncio.Event()
        stopped.set()
        never = RasaGateway(f"http://127.0.0.1:{free_port()}")
        return ready, waited, await wait_for_dialogue(never, stopped)

    try:
        ready, waited, when_stopped = asyncio.run(scenario())
    finally:
        container.engine.dispose()
    assert ready and waited >= 1.0
    assert when_stopped is False
