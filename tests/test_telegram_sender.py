"""TelegramSender with the real outbox: case events reach the resident's Telegram chat."""
from __future__ import annotations

import pytest

from bot.channels.telegram.sender import TelegramSender, senders_from_settings
from bot.container import Container
from bot.settings import ROOT, Settings
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import open_case

CHAT = 777000111


@pytest.fixture
def tg():
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def container(tmp_path, tg, clock):
    c = Container(Settings.from_env({
        "DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}", "BOT_VAR_DIR": str(tmp_path / "var"),
        "BOT_DATA_DIR": str(ROOT / "data"), "TELEGRAM_BOT_TOKEN": tg.token,
        "TELEGRAM_API_BASE_URL": tg.base_url + "/bot", "OUTBOX_BACKOFF_SECONDS": "0"}))
    c.upgrade()
    c.cases.clock = clock
    yield c
    c.engine.dispose()


def test_reply_on_a_telegram_case_reaches_the_chat(container, tg):
    number = open_case(container.cases, channel="telegram", address=str(CHAT))
    container.cases.act(number, "reply", actor="agent", text="已联系烧烤店，今晚起十点前收摊")
    outbox = container.outbox(senders_from_settings(container.settings))
    result = outbox.drain_once()
    assert result.sent >= 2 and result.retried == result.dead == 0
    received = tg.texts(CHAT)
    assert any(number in text and "已受理" in text for text in received)
    assert any("已联系烧烤店，今晚起十点前收摊" in text for text in received)
    assert outbox.counts() == {"sent": result.sent}


def test_a_resolved_notice_offers_the_two_rating_answers_as_a_keyboard(container, tg):
    number = open_case(container.cases, channel="telegram", address=str(CHAT))
    for action, extra in (("accept", {}), ("start", {}), ("resolve", {"text": "路灯已修好"})):
        container.cases.act(number, action, actor="agent", **extra)
    container.outbox(senders_from_settings(container.settings)).drain_once()
    sent = [m for m in tg.state.sent if m["chat_id"] == CHAT and m["method"] == "sendMessage"]
    keyed = [m for m in sent if m.get("reply_markup")]
    assert len(keyed) == 1 and "路灯已修好" in keyed[0]["text"], [m["text"] for m in sent]
    rows = keyed[0]["reply_markup"]["keyboard"]
    assert [b["text"] for b in rows[0]] == ["问题解决了", "没有解决"]
    assert keyed[0]["reply_markup"]["one_time_keyboard"] is True


def test_flood_limit_is_waited_out(container, tg):
    number = open_case(container.cases, channel="telegram", address=str(CHAT))
    tg.fail_next("sendMessage", 429, retry_after=1)
    result = container.outbox({"telegram": TelegramSender(tg.token, tg.base_url)}).drain_once()
    assert result.retried == 0 and result.sent >= 1
    assert any(number in text for text in tg.texts(CHAT))


def test_a_passing_server_error_is_tried_again_before_the_outbox_sees_it(tg):
    tg.fail_next("sendMessage", 502, "Bad Gateway", times=2)
    TelegramSender(tg.token, tg.base_url).send(str(CHAT), "您好，工单已受理", case_number="X")
    assert tg.texts(CHAT) == ["您好，工单已受理"]


def test_a_lasting_server_error_raises_after_three_tries(tg):
    tg.fail_next("sendMessage", 500, "Internal Server Error", times=3)
    with pytest.raises(RuntimeError, match="500"):
        TelegramSender(tg.token, tg.base_url).send(str(CHAT), "您好", case_number="X")
    assert tg.texts(CHAT) == []
    tg.fail_next("sendMessage", 400, "Bad Request: chat not found")      # not retried
    with pytest.raises(RuntimeError, match="400"):
        TelegramSender(tg.token, tg.base_url).send(str(CHAT), "您好", case_number="X")


def test_blocked_bot_raises_so_the_outbox_retries_then_dead_letters(container, tg, clock):
    open_case(container.cases, channel="telegram", address=str(CHAT))
    tg.block(CHAT)
    outbox = container.outbox({"telegram": TelegramSender(tg.token, tg.base_url)})
    outbox.max_tries = 2
    first = outbox.drain_once()
    assert first.sent == 0 and first.retried >= 1
    clock.advance(hours=2)
    outbox.drain_once()
    dead = outbox.dead_letters()
    assert dead and all("403" in d["error"] and "blocked" in d["error"] for d in dead)
    assert tg.token not in str(dead)


def test_unreachable_telegram_raises_without_leaking_the_token(tg):
    sender = TelegramSender(tg.token, "http://127.0.0.1:9")   # nothing listens there
    with pytest.raises(RuntimeError) as failure:
        sender.send(str(CHAT), "您好", case_number="X")
    assert tg.token not in str(failure.value)


def test_bad_address_raises(tg):
    with pytest.raises(RuntimeError):
        TelegramSender(tg.token, tg.base_url).send("webchat-session", "您好", case_number="X")


def test_long_notice_is_split(tg):
    TelegramSender(tg.token, tg.base_url).send(str(CHAT), "进展说明。" * 1500, case_number="X")
    texts = tg.texts(CHAT)
    assert len(texts) == 2 and all(len(t) <= 4096 for t in texts)


def test_no_token_no_sender():
    assert senders_from_settings(Settings.from_env({"TELEGRAM_BOT_TOKEN": ""})) == {}
