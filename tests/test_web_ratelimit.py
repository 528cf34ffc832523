"""How often a chat may write: per session, per client address, across replicas, and never at
the cost of a message when Redis is away."""
from __future__ import annotations

import time
import uuid
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from bot.web.app import create_app
from bot.web.ratelimit import MessageLimiter
from tests.conftest import make_container
from tests.web_support import FakeRasa, free_port, live_server, redis_url_or_skip, web_settings


def test_each_session_has_its_own_allowance_and_the_address_a_wider_one():
    limiter = MessageLimiter("3/minute", "5/minute")
    assert [limiter.allow("a", "10.0.0.1") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b", "10.0.0.1") and limiter.allow("c", "10.0.0.1")
    assert not limiter.allow("d", "10.0.0.1")          # the address is spent: 3 + 2
    assert limiter.allow("e", "10.0.0.2")


@pytest.mark.redis
def test_replicas_count_together_in_redis():
    url, session = redis_url_or_skip(), f"s-{uuid.uuid4().hex}"
    first, second = MessageLimiter("2/minute", "100/minute", url), MessageLimiter("2/minute", "100/minute", url)
    assert first.allow(session, "10.0.0.9") and second.allow(session, "10.0.0.9")
    assert not first.allow(session, "10.0.0.9") and not second.allow(session, "10.0.0.9")
    assert 1 <= second.admit(session, "10.0.0.9") <= 60      # the wait is read from Redis too


def test_a_refusal_says_when_the_session_may_write_again():
    limiter = MessageLimiter("2/minute", "100/minute")
    assert limiter.admit("a", "10.0.0.1") is None and limiter.admit("a", "10.0.0.1") is None
    assert 58 <= limiter.admit("a", "10.0.0.1") <= 60     # the first message leaves the window in a minute
    spent = MessageLimiter("100/minute", "1/hour")
    assert spent.admit("b", "10.0.0.2") is None
    assert 3590 <= spent.admit("c", "10.0.0.2") <= 3600   # the address's window, not the session's


def test_a_flood_of_refusals_is_read_by_the_rules_alone_and_still_hears_119(monkeypatch):
    from bot.web import chat_routes, ratelimit

    limiter = MessageLimiter("1/minute", "1000/minute")
    assert chat_routes._over_limit(limiter, "s", "10.0.0.3", "你好") is None
    budget = int(ratelimit.SAFETY_READS.split("/")[0])
    reads = []
    monkeypatch.setattr(chat_routes, "call_now", lambda text, *, do_not_wait_for, rules_only:
                        reads.append(rules_only))
    for i in range(budget + 2):
        assert chat_routes._over_limit(limiter, "s", "10.0.0.3", f"在吗{i}").status == 429
    assert reads == [False] * budget + [True, True]      # the classifiers only for the first ones
    monkeypatch.undo()
    refused = chat_routes._over_limit(limiter, "s", "10.0.0.3", "救命！楼道里着火了")
    assert refused.detail["hotlines"][0] == "119" and refused.headers["Retry-After"]


def test_an_unreachable_redis_lets_messages_through_quickly(caplog):
    limiter = MessageLimiter("1/minute", "1/minute", f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    assert all(limiter.allow("s", "10.0.0.1") for _ in range(3))
    assert time.monotonic() - started < 5
    assert "rate limiter unavailable" in caplog.text


@contextmanager
def chat_app(tmp_path, rate_per_session: str):
    """(a client of the app, the fake Rasa behind it) with this allowance per session."""
    port = free_port()
    rasa_url = f"http://127.0.0.1:{port}"
    container = make_container(f"sqlite:///{tmp_path / 'cases.db'}", tmp_path, RASA_URL=rasa_url)
    fake = FakeRasa(container.cases)
    try:
        with live_server(fake.app(), port):
            app = create_app(container, web=web_settings(rasa_url, rate_per_session=rate_per_session))
            with TestClient(app) as client:
                yield client, fake
    finally:
        container.engine.dispose()


def test_the_api_refuses_a_flood_politely_and_passes_nothing_on(tmp_path):
    with chat_app(tmp_path, "3/minute") as (client, fake):
        replies = [client.post("/api/chat/message", json={"text": f"你好{i}"}) for i in range(4)]
        assert [r.status_code for r in replies] == [200, 200, 200, 429]
        assert replies[3].json() == {
            "error": "您发得太快了，这条消息没有发出。请稍等一分钟再发送；之前发出的内容都已收到。",
            "code": "too_fast"}
        assert 1 <= int(replies[3].headers["Retry-After"]) <= 60
        assert len(fake.received) == 3
        client.cookies.clear()                # another resident is not affected
        assert client.post("/api/chat/message", json={"text": "你好"}).status_code == 200


@pytest.mark.parametrize("text, number", [("救命！我家着火了，门打不开", "119"),
                                          ("我现在就想从楼上跳下去", "12356")])
def test_an_emergency_over_the_limit_still_hears_the_number_to_call(tmp_path, text, number):
    """Issue 15: a panicking resident sending short messages is who hits the limit."""
    with chat_app(tmp_path, "2/minute") as (client, fake):
        assert [client.post("/api/chat/message", json={"text": "在吗"}).status_code
                for _ in range(2)] == [200, 200]
        refused = client.post("/api/chat/message", json={"text": text})
        assert refused.status_code == 429 and refused.headers["Retry-After"]
        body = refused.json()
        assert body["code"] == "too_fast" and number in body["detail"]["hotlines"]
        assert body["error"].splitlines()[0].startswith("请马上拨打 ") and number in body["error"]
        assert "您发得太快了" in body["error"]
        assert len(fake.received) == 2                  # still not passed on
