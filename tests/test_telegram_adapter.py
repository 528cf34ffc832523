"""The Telegram adapter against a fake Bot API server and a Rasa REST stand-in (127.0.0.1 only)."""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import httpx
import pytest

from bot.channels.telegram import texts
from bot.channels.telegram.store import UpdateStore
from bot.container import Container
from tests.fakes.rasa_rest import FakeRasa
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_harness import LiveAdapter, make_settings

CHAT = 4242


@pytest.fixture
def tg():
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def rasa():
    with FakeRasa() as fake:
        yield fake


@pytest.fixture
def container(tmp_path, tg, rasa):
    c = Container(make_settings(tmp_path, tg.base_url, tg.token, rasa.url))
    c.upgrade()
    yield c
    c.engine.dispose()


@pytest.fixture
def polling(container):
    with LiveAdapter(container, mode="polling") as live:
        yield live


@pytest.fixture
def webhook(container):
    with LiveAdapter(container, mode="webhook") as live:
        yield live


def store(container) -> UpdateStore:
    return UpdateStore(container.engine)


def test_commands_registered_in_chinese(polling, tg):
    commands = {c["command"]: c["description"] for c in tg.commands()}
    assert set(commands) == {"start", "help", "status", "mycases", "cancel"}
    assert commands["mycases"] == "我的诉求"
    assert tg.calls("getMe")
    tg.wait_for(lambda f: f.calls("deleteWebhook"))     # polling starts by removing any webhook


def test_text_reaches_rasa_as_telegram_sender_and_reply_is_sent(polling, tg, rasa):
    update = tg.message(CHAT, "文化路28号楼下烧烤店太吵了")
    assert tg.wait_for_texts(CHAT, 1) == ["收到：文化路28号楼下烧烤店太吵了"]
    [request] = rasa.received()
    assert request["sender"] == f"telegram:{CHAT}"
    assert request["metadata"]["channel"] == "telegram"
    assert request["metadata"]["telegram"]["update_id"] == update["update_id"]


def test_commands_go_to_the_dialogue_as_intents(polling, tg, rasa):
    tg.message(CHAT, "/start")
    tg.message(CHAT, "/status sf20261122-0007")
    tg.message(CHAT, "/mycases")
    tg.wait_for_texts(CHAT, 3)
    assert rasa.messages() == ["/greet", '/ask_status{"case_number": "SF20261122-0007"}',
                               "/my_cases"]


def test_unknown_command_answered_without_the_dialogue(polling, tg, rasa):
    tg.message(CHAT, "/foo")
    assert tg.wait_for_texts(CHAT, 1) == [texts.UNKNOWN_COMMAND]
    assert rasa.received() == []


def test_redelivered_update_is_handled_once(webhook, tg, rasa, container):
    update = tg.message(CHAT, "路灯坏了")
    first = tg.push_webhook(update)
    second = tg.push_webhook(update)          # Telegram retries when it thinks it failed
    assert first.status_code == second.status_code == 200
    assert second.json()["duplicate"] is True
    tg.wait_for_texts(CHAT, 1)
    webhook.idle()
    time.sleep(0.2)
    assert rasa.messages() == ["路灯坏了"]
    assert tg.texts(CHAT) == ["收到：路灯坏了"]
    assert store(container).counts() == {"done": 1}


def test_redelivery_after_restart_changes_nothing(container, tg, rasa):
    update = tg.message(CHAT, "我要反映噪音")
    with LiveAdapter(container, mode="polling"):
        tg.wait_for_texts(CHAT, 1)
    with LiveAdapter(container, mode="polling") as live:
        assert live.call(live.adapter.accept(update)) is False
        live.idle()
    assert rasa.messages() == ["我要反映噪音"]


def test_messages_of_one_chat_in_order_chats_in_parallel(container, tg, rasa):
    # The first message of each chat is slow; later ones are fast. Order must still hold,
    # and one slow chat must not hold up the other.
    rasa.delay = lambda body: 0.8 if body["message"].endswith("1") else 0.05
    with LiveAdapter(container, mode="polling"):
        started = time.monotonic()
        for n in range(1, 6):
            tg.message(1001, f"甲{n}")
            tg.message(1002, f"乙{n}")
        tg.wait_for_texts(1001, 5)
        tg.wait_for_texts(1002, 5)
        elapsed = time.monotonic() - started
    assert rasa.messages("telegram:1001") == [f"甲{n}" for n in range(1, 6)]
    assert rasa.messages("telegram:1002") == [f"乙{n}" for n in range(1, 6)]
    assert tg.texts(1001) == [f"收到：甲{n}" for n in range(1, 6)]
    assert elapsed < 2.5      # sequential across chats would be > 2 × (0.8 + 4 × 0.05) + polling


def rating_reply(body: dict) -> list[dict]:
    if body["message"] == "评价":
        return [{"text": "您对办理结果满意吗？",
                 "buttons": [{"title": "满意", "payload": "/rate_satisfied"},
                             {"title": "不满意", "payload": "/rate_unsatisfied"},
                             {"title": "查看进度",
                              "payload": '/ask_status{"case_number": "SF20261122-0007", '
                                         '"detail": "full"}'}]}]
    return [{"text": f"收到：{body['message']}"}]


def test_buttons_become_inline_keyboard_and_callbacks_are_answered(polling, tg, rasa):
    rasa.reply = rating_reply
    tg.message(CHAT, "评价")
    tg.wait_for_texts(CHAT, 1)
    [prompt] = tg.sent(CHAT)
    rows = prompt["reply_markup"]["inline_keyboard"]
    buttons = [b for row in rows for b in row]
    assert [b["text"] for b in buttons] == ["满意", "不满意", "查看进度"]
    assert buttons[0]["callback_data"] == "/rate_satisfied"
    assert all(len(b["callback_data"].encode()) <= 64 for b in buttons)

    press = tg.callback_query(CHAT, "/rate_satisfied")
    tg.wait_for_texts(CHAT, 2)
    assert [a["callback_query_id"] for a in tg.answers()] == [press["callback_query"]["id"]]
    assert rasa.messages()[-1] == "/rate_satisfied"
    assert rasa.received()[-1]["metadata"]["button"] == {"title": "满意"}
    edit = [m for m in tg.sent(CHAT) if m["method"] == "editMessageText"][-1]
    assert edit["text"].endswith("（您已选择：满意）") and edit.get("reply_markup") is None

    # A payload over Telegram's 64 bytes travels as a token and arrives whole.
    tg.message(CHAT, "评价")
    tg.wait_for_texts(CHAT, 3)
    long_button = tg.sent(CHAT)[-1]["reply_markup"]["inline_keyboard"][-1][0]
    tg.callback_query(CHAT, long_button["callback_data"])
    tg.wait_for(lambda f: len(f.answers()) == 2)
    tg.wait_for_texts(CHAT, 4)
    assert rasa.messages()[-1] == rating_reply({"message": "评价"})[0]["buttons"][2]["payload"]


def test_unknown_button_is_answered_politely(polling, tg, rasa):
    tg.callback_query(CHAT, "~p:000000000000")
    assert tg.wait_for_texts(CHAT, 1) == [texts.BUTTON_EXPIRED]
    assert tg.answers()[0]["text"] == texts.BUTTON_EXPIRED
    assert rasa.received() == []


def test_long_reply_is_split_at_4096(polling, tg, rasa):
    paragraph = "办理须知：" + "请携带身份证原件和复印件到社区服务中心办理。" * 120
    long_text = "\n\n".join([paragraph] * 6)
    assert len(long_text) > 3 * 4096
    rasa.reply = lambda body: [{"text": long_text, "buttons": [{"title": "好的", "payload": "/affirm"}]}]
    tg.message(CHAT, "需要什么材料")
    chunks = tg.wait_for_texts(CHAT, 4)
    time.sleep(0.3)
    chunks = tg.texts(CHAT)
    assert all(len(c) <= 4096 for c in chunks)
    assert "".join(chunks).replace("\n", "") == long_text.replace("\n", "")
    sent = tg.sent(CHAT)
    assert all(m.get("reply_markup") is None for m in sent[:-1])
    assert sent[-1]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "/affirm"


def test_flood_limit_429_is_waited_out_and_retried(polling, tg):
    tg.fail_next("sendMessage", 429, retry_after=1)
    started = time.monotonic()
    tg.message(CHAT, "你好")
    assert tg.wait_for_texts(CHAT, 1) == ["收到：你好"]
    assert time.monotonic() - started >= 1.0
    assert len(tg.calls("sendMessage")) == 2


@pytest.mark.parametrize("secret", [None, "forged-secret", ""])
def test_forged_or_missing_webhook_secret_is_refused(webhook, tg, rasa, container, secret):
    update = tg.message(CHAT, "你好")
    response = tg.push_webhook(update, secret=secret)
    assert response.status_code == 403
    time.sleep(0.2)
    assert rasa.received() == [] and tg.texts(CHAT) == []
    assert store(container).counts() == {}


def test_webhook_registered_with_secret(webhook, tg):
    info = tg.state.webhook
    assert info["url"] == webhook.webhook_url and info["secret_token"] == webhook.secret
    assert set(info["allowed_updates"]) == {"message", "edited_message", "callback_query"}


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"update_id": "7"}',
                                  b'{"update_id": 7, "message": "oops"}', b"\xff\xfe"])
def test_malformed_update_is_refused_politely_and_nothing_breaks(webhook, tg, rasa, body):
    response = tg.push_webhook(body=body)
    assert response.status_code == 400
    assert response.json() == {"ok": False, "description": "malformed update"}
    tg.push_webhook(tg.message(CHAT, "还在吗"))     # the bot still works
    assert tg.wait_for_texts(CHAT, 1) == ["收到：还在吗"]


def test_webhook_answers_before_the_dialogue_does(webhook, tg, rasa):
    rasa.delay = 1.5
    started = time.monotonic()
    response = tg.push_webhook(tg.message(CHAT, "慢一点也没关系"))
    answered = time.monotonic() - started
    assert response.status_code == 200 and answered < 0.5
    assert tg.texts(CHAT) == []
    assert tg.wait_for_texts(CHAT, 1) == ["收到：慢一点也没关系"]


def test_voice_sticker_answered_politely(polling, tg, rasa):
    tg.voice(CHAT)
    tg.sticker(CHAT)
    assert tg.wait_for_texts(CHAT, 2) == [texts.VOICE, texts.UNSUPPORTED]
    assert rasa.received() == []


def test_edited_message_is_not_applied_and_resident_is_told(polling, tg, rasa):
    original = tg.message(CHAT, "我家在文化路28号")
    tg.wait_for_texts(CHAT, 1)
    tg.edited_message(CHAT, original["message"]["message_id"], "我家在文化路29号")
    assert tg.wait_for_texts(CHAT, 2)[-1] == texts.EDITED
    assert rasa.messages() == ["我家在文化路28号"]


def test_photo_and_document_are_kept_and_announced_in_metadata(polling, tg, rasa, container):
    tg.photo(CHAT, b"\xff\xd8\xff\xe0" + b"x" * 5000, caption="楼道里的垃圾堆了一周")
    tg.document(CHAT, b"%PDF-1.4 " + b"y" * 300, file_name="证明材料.pdf")
    tg.wait_for_texts(CHAT, 4)      # each: "held until a case is registered" + the dialogue
    first, second = rasa.received()
    assert first["message"] == "楼道里的垃圾堆了一周"
    [photo] = first["metadata"]["attachments"]
    assert photo["kind"] == "photo" and photo["size"] == 5004
    assert Path(photo["path"]).read_bytes().startswith(b"\xff\xd8")
    assert Path(photo["path"]).is_relative_to(container.settings.var_dir / "attachments")
    assert second["message"] == texts.ATTACHMENT_INTENT
    [doc] = second["metadata"]["attachments"]
    assert doc["file_name"] == "证明材料.pdf" and doc["path"].endswith(".pdf")
    assert Path(doc["path"]).read_bytes().startswith(b"%PDF")


def test_too_big_file_is_refused_politely(polling, tg, rasa):
    tg.document(CHAT, b"small really", declared_size=11 * 1024 * 1024)
    assert tg.wait_for_texts(CHAT, 1) == [texts.TOO_BIG.format(limit_mb=10)]
    assert rasa.received() == [] and tg.calls("getFile") == []


def test_location_reaches_the_dialogue_in_metadata(polling, tg, rasa):
    tg.location(CHAT, 34.75, 113.62)
    tg.wait_for_texts(CHAT, 1)
    [request] = rasa.received()
    assert request["message"] == texts.LOCATION_INTENT
    assert request["metadata"]["location"] == {"latitude": 34.75, "longitude": 113.62}


def test_group_chats_are_not_served(polling, tg, rasa, container):
    tg.message(-100123, "大家好")
    tg.message(CHAT, "你好")
    tg.wait_for_texts(CHAT, 1)
    polling.idle()
    assert rasa.messages() == ["你好"] and tg.texts(-100123) == []
    assert store(container).counts() == {"skipped": 1, "done": 1}


def test_rasa_down_polite_reply_message_kept_and_retried_in_order(container, tg, rasa, caplog):
    caplog.set_level(logging.WARNING, logger="bot.channels.telegram.adapter")
    CHAT = 5550004242
    rasa.down = True
    with LiveAdapter(container, mode="polling", retry_delays=(0.5,)) as live:
        first = tg.message(CHAT, "我的电话13812345678，楼上漏水")
        assert tg.wait_for_texts(CHAT, 1) == [texts.BUSY]
        tg.message(CHAT, "已经漏了三天了")
        assert tg.wait_for_texts(CHAT, 2) == [texts.BUSY, texts.BUSY]
        kept = store(container).get(first["update_id"])
        assert kept.status == "pending" and kept.tries >= 1 and kept.notified
        time.sleep(0.8)
        assert len(tg.texts(CHAT)) == 2          # told once per message, not per retry
        rasa.down = False
        tg.wait_for_texts(CHAT, 4)
        live.idle()
    assert rasa.messages() == ["我的电话13812345678，楼上漏水", "已经漏了三天了"]
    assert tg.texts(CHAT)[2:] == ["收到：我的电话13812345678，楼上漏水", "收到：已经漏了三天了"]
    assert store(container).counts() == {"done": 2}
    staff = [r.getMessage() for r in caplog.records if "kept for retry" in r.getMessage()]
    assert staff and all("13812345678" not in line and str(CHAT) not in line for line in staff)
    assert any("138****5678" in line for line in staff)


def test_rasa_down_a_fire_hears_119_before_the_busy_note(container, tg, rasa):
    CHAT = 5550004243
    rasa.down = True
    with LiveAdapter(container, mode="polling", retry_delays=(5.0,)):
        tg.message(CHAT, "楼下着火了好大的烟")
        said = tg.wait_for_texts(CHAT, 2)
        assert "119" in said[0] and said[1] == texts.BUSY
        tg.message(CHAT, "我不想活了")              # behind the first: told once, number first
        said = tg.wait_for_texts(CHAT, 4)
        assert "12356" in said[2] and said[3] == texts.BUSY


def test_rasa_slow_counts_as_down(container, tg, rasa):
    rasa.delay = 2.0
    with LiveAdapter(container, mode="polling", gateway_timeout=0.5, retry_delays=(0.5,)):
        tg.message(CHAT, "在吗")
        assert tg.wait_for_texts(CHAT, 1) == [texts.BUSY]
        rasa.delay = 0
        assert tg.wait_for_texts(CHAT, 2)[-1] == "收到：在吗"
    # the slow turn was handled after all: the retry took its answer from the tracker
    assert rasa.messages(f"telegram:{CHAT}") == ["在吗"]


def test_pending_update_survives_a_restart(container, tg, rasa):
    rasa.down = True
    with LiveAdapter(container, mode="polling", retry_delays=(60,)):
        update = tg.message(CHAT, "请帮我查一下低保")
        tg.wait_for_texts(CHAT, 1)
    rasa.down = False
    assert store(container).get(update["update_id"]).status == "pending"
    with LiveAdapter(container, mode="polling", retry_delays=(60,)) as live:
        # due in a minute: move it forward as the clock would
        with container.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE telegram_updates SET next_attempt_at = '2000-01-01'")
        assert tg.wait_for_texts(CHAT, 2)[-1] == "收到：请帮我查一下低保"
        live.idle()
    assert rasa.messages() == ["请帮我查一下低保"]


def test_a_message_the_dialogue_always_fails_on_does_not_block_the_chat(container, tg, rasa):
    def reply(body):
        if body["message"] == "坏消息":
            raise RuntimeError("action server bug")     # Rasa answers 500, /status is fine
        return [{"text": f"收到：{body['message']}"}]
    rasa.reply = reply
    with LiveAdapter(container, mode="polling", poison_tries=2, retry_delays=(0.2,)) as live:
        bad = tg.message(CHAT, "坏消息")
        tg.message(CHAT, "好消息")
        tg.wait_for_texts(CHAT, 4)
        live.idle()
    assert tg.texts(CHAT) == [texts.BUSY, texts.BUSY, texts.ERROR, "收到：好消息"]
    assert store(container).get(bad["update_id"]).status == "failed"


def test_a_message_waits_while_rasa_says_a_part_behind_it_is_away(container, tg, rasa):
    rasa.busy = True                        # 503 on the webhook, /status 200: not a poison message
    with LiveAdapter(container, mode="polling", poison_tries=2, retry_delays=(0.1,)) as live:
        sent = tg.message(CHAT, "路灯坏了")
        deadline = time.monotonic() + 30
        while (getattr(store(container).get(sent["update_id"]), "tries", 0) or 0) < 4:
            assert time.monotonic() < deadline, "the update was not retried"
            time.sleep(0.1)
        assert store(container).get(sent["update_id"]).status != "failed"
        rasa.busy = False
        tg.wait_for_texts(CHAT, 2)
        live.idle()
    assert tg.texts(CHAT) == [texts.BUSY, "收到：路灯坏了"]
    assert store(container).get(sent["update_id"]).status == "done"


def test_callback_answered_even_when_rasa_is_down(polling, tg, rasa):
    rasa.down = True
    press = tg.callback_query(CHAT, "/rate_satisfied")
    tg.wait_for(lambda f: f.answers())
    assert tg.answers()[0]["callback_query_id"] == press["callback_query"]["id"]
    assert tg.wait_for_texts(CHAT, 1) == [texts.BUSY]
    rasa.down = False
    tg.wait_for_texts(CHAT, 2)
    assert len(tg.answers()) == 1          # the retry does not answer a second time
    assert rasa.messages() == ["/rate_satisfied"]


def test_fake_speaks_the_wire_format(tg):
    """The fake answers as the real Bot API does, so the adapter is tested against it."""
    ok = httpx.get(f"{tg.api_url}/getMe").json()
    assert ok["ok"] is True and ok["result"]["is_bot"] is True
    bad = httpx.post(f"{tg.base_url}/bot1:wrong/getMe").json()
    assert bad == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    tg.fail_next("sendMessage", 429, retry_after=3)
    limited = httpx.post(f"{tg.api_url}/sendMessage", json={"chat_id": 1, "text": "x"})
    assert limited.status_code == 429
    assert limited.json() == {"ok": False, "error_code": 429,
                              "description": "Too Many Requests: retry after 3",
                              "parameters": {"retry_after": 3}}
    too_long = httpx.post(f"{tg.api_url}/sendMessage", data={"chat_id": "1", "text": "字" * 4097})
    assert too_long.json()["description"] == "Bad Request: message is too long"
    markup = json.dumps({"inline_keyboard": [[{"text": "好", "callback_data": "/affirm"}]]})
    sent = httpx.post(f"{tg.api_url}/sendMessage",
                      data={"chat_id": "1", "text": "请确认", "reply_markup": markup}).json()
    assert sent["result"]["reply_markup"]["inline_keyboard"][0][0]["text"] == "好"
    tg.message(5, "一")
    tg.message(5, "二")
    got = httpx.get(f"{tg.api_url}/getUpdates", params={"timeout": 0}).json()["result"]
    assert [u["message"]["text"] for u in got] == ["一", "二"]
    after = httpx.get(f"{tg.api_url}/getUpdates",
                      params={"offset": got[-1]["update_id"] + 1, "timeout": 0}).json()
    assert after == {"ok": True, "result": []}
