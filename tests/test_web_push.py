"""Live push: a handler acts → the outbox drains with the webchat sender → the open page's SSE
stream has the Chinese text within 2 s; a closed page gets it from its inbox on return."""
from __future__ import annotations

import json
import queue
import threading
import time

import httpx
import pytest

from bot.cases import OpenCase
from bot.channels.webchat import WebchatSender
from bot.web.app import create_app
from bot.web.hub import InProcessHub, RedisHub
from bot.web.sessions import COOKIE
from tests.conftest import make_container
from tests.web_support import FakeRasa, free_port, live_server, redis_url_or_skip, web_settings


class Stream:
    """Reads an SSE stream in a thread; `next()` gives the next parsed event."""

    def __init__(self, base: str, cookies: httpx.Cookies) -> None:
        self.events: queue.Queue = queue.Queue()
        self.client = httpx.Client(base_url=base, cookies=cookies, timeout=None)
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(5), "SSE stream did not open"

    def _run(self) -> None:
        try:
            with self.client.stream("GET", "/api/chat/events") as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                self.ready.set()
                event: dict = {}
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        event["event"] = line[7:]
                    elif line.startswith("data: "):
                        event["data"] = json.loads(line[6:])
                    elif not line and "data" in event:
                        self.events.put(event)
                        event = {}
        except (httpx.HTTPError, RuntimeError):
            pass

    def next(self, timeout: float) -> dict:
        return self.events.get(timeout=timeout)

    def close(self) -> None:
        self.client.close()


@pytest.fixture(params=["inprocess", pytest.param("redis", marks=pytest.mark.redis)])
def hub(request):
    if request.param == "inprocess":
        return InProcessHub()
    return RedisHub(redis_url_or_skip())


@pytest.fixture
def site(tmp_path, hub):
    port = free_port()
    rasa_url = f"http://127.0.0.1:{port}"
    container = make_container(f"sqlite:///{tmp_path / 'cases.db'}", tmp_path, RASA_URL=rasa_url)
    fake = FakeRasa(container.cases)
    app = create_app(container, hub=hub, web=web_settings(rasa_url))
    with live_server(fake.app(), port), live_server(app) as base:
        yield container, app, base
    container.engine.dispose()


def resident(base: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=10)
    client.get("/api/chat/session").raise_for_status()
    return client, client.cookies.get(COOKIE).split(".")[0]


def open_webchat_case(container, sid: str) -> str:
    return container.cases.open_case(OpenCase(
        text="文化路28号楼下烧烤店每天营业到凌晨两点，噪音太大睡不着", category="env.noise",
        area="S1P1G1", channel="webchat", address=sid, actor="chat", inline_ack=True)).number


def test_handler_action_reaches_the_open_page_within_two_seconds(site):
    container, app, base = site
    client, sid = resident(base)
    number = open_webchat_case(container, sid)
    stream = Stream(base, client.cookies)
    outbox = container.outbox({"webchat": WebchatSender(app.state.chat.store, app.state.chat.hub)})
    time.sleep(0.2)    # the Redis subscription is live once the stream's first bytes arrive

    started = time.monotonic()
    container.cases.act(number, "reply", actor="agent:A1", text="已联系商户，今晚起十点后停止营业")
    assert outbox.drain_once().sent == 1
    event = stream.next(timeout=2)
    elapsed = time.monotonic() - started
    assert elapsed < 2
    assert event["event"] == "update" and event["data"]["case"] == number
    assert "已联系商户，今晚起十点后停止营业" in event["data"]["text"]
    assert f"关于编号 {number} 的诉求" in event["data"]["text"]
    stream.close()
    client.close()


def test_a_closed_page_gets_the_update_on_return(site):
    container, app, base = site
    client, sid = resident(base)
    number = open_webchat_case(container, sid)
    outbox = container.outbox({"webchat": WebchatSender(app.state.chat.store, app.state.chat.hub)})
    container.cases.act(number, "accept", actor="agent:A1")
    outbox.drain_once()
    assert outbox.counts() == {"sent": 3}                   # open + assign inline, accept pushed

    items = client.get("/api/chat/updates").json()["items"]
    assert [i["case"] for i in items] == [number] and "已由" in items[0]["text"]
    # Reconnecting before acknowledging replays it; acknowledging clears it.
    stream = Stream(base, client.cookies)
    assert stream.next(timeout=2)["data"]["id"] == items[0]["id"]
    stream.close()
    client.post("/api/chat/ack", json={"ids": [items[0]["id"]]})
    assert client.get("/api/chat/updates").json()["items"] == []
    card = client.get(f"/api/chat/cases/{number}").json()["case"]
    assert card["state_label"] == "已签收"
    client.close()


def test_pushes_go_to_their_own_session_only(site):
    container, app, base = site
    alice, alice_sid = resident(base)
    bob, _ = resident(base)
    number = open_webchat_case(container, alice_sid)
    bob_stream = Stream(base, bob.cookies)
    alice_stream = Stream(base, alice.cookies)
    time.sleep(0.2)
    outbox = container.outbox({"webchat": WebchatSender(app.state.chat.store, app.state.chat.hub)})
    container.cases.act(number, "accept", actor="agent:A1")
    outbox.drain_once()
    assert alice_stream.next(timeout=2)["data"]["case"] == number
    with pytest.raises(queue.Empty):
        bob_stream.next(timeout=0.5)
    assert bob.get("/api/chat/updates").json()["items"] == []
    for c in (alice_stream, bob_stream, alice, bob):
        c.close()


def test_background_notifier_pushes_without_help(tmp_path):
    """As under `bot run`: the app's own notifier loop drains the outbox."""
    port = free_port()
    rasa_url = f"http://127.0.0.1:{port}"
    container = make_container(f"sqlite:///{tmp_path / 'cases.db'}", tmp_path, RASA_URL=rasa_url)
    app = create_app(container, web=web_settings(rasa_url), background=True)
    with live_server(FakeRasa(container.cases).app(), port), live_server(app) as base:
        client, sid = resident(base)
        number = open_webchat_case(container, sid)
        stream = Stream(base, client.cookies)
        started = time.monotonic()
        container.cases.act(number, "accept", actor="agent:A1")
        event = stream.next(timeout=2)
        assert time.monotonic() - started < 2 and event["data"]["case"] == number
        stream.close()
        client.close()
    container.engine.dispose()
