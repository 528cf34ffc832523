"""Hand-off to a person: the service over real databases, the web chat relay and the Telegram
adapter (fake Bot API server, Rasa stand-ins over 127.0.0.1), and the console API."""
from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from bot.cases import OpenCase
from bot.container import Container
from bot.staff.errors import StaffError
from bot.staff.handoff import (ACTIVE, CLOSED, RETURNED, STAFF_LABEL, WAIT_NOTICE, WAITING,
                               HandoffService)
from bot.staff.models import handoff_messages
from bot.web.app import create_app
from bot.web.hub import InProcessHub
from bot.web.sessions import COOKIE
from bot.web.store import pending, utcnow
from tests.conftest import make_container
from tests.fakes.rasa_rest import FakeRasa as RestRasa
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_harness import LiveAdapter, make_settings
from tests.web_support import FakeRasa, free_port, live_server, web_settings

PASSWORD = "长密码-不常见-2026"
POINT_AGENT = "A-S1P1"          # 文化路社区代理点 (王小军)
OTHER_AGENT = "A-S2P1"          # 东湖花园社区代理点
FIRE = "楼道里着火了，烟很大"


def open_handoff_case(cases, channel: str, address: str, area: str | None = "S1P1G1") -> str:
    """What actions/support.py does for "转人工" without an open case."""
    return cases.open_case(OpenCase(
        text="群众要求人工服务。", category="gov.service", summary="群众要求转人工服务",
        channel=channel, address=address, area=area, actor="chat", inline_ack=True)).number


def handoff_reply(number: str) -> dict:
    return {"text": f"好的，已为您转接人工代理员，诉求编号 {number}。",
            "custom": {"handoff": True, "case": number}}


def handoffs(container) -> HandoffService:
    return HandoffService.for_container(container)


# ====================================================================== the service
@pytest.fixture
def staff(container):
    add = container.staff.add
    return {"agent": add("agent1", "agent", PASSWORD, name="王小军", agent_code=POINT_AGENT),
            "other": add("agent2", "agent", PASSWORD, agent_code=OTHER_AGENT),
            "duty": add("duty", "agent", PASSWORD, agent_code="A-C"),
            "boss": add("boss", "supervisor", PASSWORD),
            "body": add("body1", "body", PASSWORD, body_code=next(iter(container.catalog.bodies))),
            "admin": add("admin1", "admin", PASSWORD)}


def test_open_is_idempotent_and_goes_to_the_cases_agent(container, staff):
    service = handoffs(container)
    number = open_handoff_case(container.cases, "webchat", "s-1")
    first, created = service.open("webchat", "s-1", number)
    again, created_again = service.open("webchat", "s-1", number)
    assert (created, created_again) == (True, False) and again.id == first.id
    assert (first.state, first.agent_code, first.case_number) == (WAITING, POINT_AGENT, number)
    assert service.is_handed_off("webchat", "s-1") and not service.is_handed_off("telegram", "s-1")
    [item] = service.list(staff["agent"])
    assert item["id"] == first.id and item["resident"] == "网页聊天 …s-1"
    assert item["agent"] == {"code": POINT_AGENT, "name": "王小军"}
    assert item["messages"] == 1 and item["last"]["sender"] == "system"


def test_without_a_working_account_the_duty_agent_gets_it(container, staff):
    service = handoffs(container)
    number = open_handoff_case(container.cases, "webchat", "s-2", area="S3P1")   # 青石村: no account
    held, _ = service.open("webchat", "s-2", number)
    assert held.agent_code == service.duty_agent == "A-C"          # the center's agent by default
    assert [h["id"] for h in service.list(staff["duty"])] == [held.id]
    assert service.list(staff["agent"]) == []
    configured = HandoffService(container.engine, container.catalog, duty_agent="A-S2")
    assert configured.duty_agent == "A-S2"
    assert HandoffService(container.engine, container.catalog, duty_agent="NOPE").duty_agent == "A-C"
    no_case, _ = service.open("telegram", "777")
    assert no_case.agent_code == "A-C" and no_case.case_number is None


def test_scope_agents_theirs_supervisor_all_other_roles_refused(container, staff):
    service = handoffs(container)
    held, _ = service.open("webchat", "s-3", open_handoff_case(container.cases, "webchat", "s-3"))
    assert service.for_staff(staff["agent"], held.id).id == held.id
    assert service.for_staff(staff["boss"], held.id).id == held.id
    for outsider in (staff["other"], staff["duty"]):
        with pytest.raises(StaffError) as refused:
            service.for_staff(outsider, held.id)
        assert refused.value.status == 404                   # same as a hand-off that is not there
        assert service.list(outsider) == []
    with pytest.raises(StaffError) as missing:
        service.for_staff(staff["agent"], held.id + 1000)
    assert (missing.value.status, missing.value.zh) == (404, refused.value.zh)
    for role in ("body", "admin"):
        with pytest.raises(StaffError) as no_role:
            service.list(staff[role])
        assert no_role.value.status == 403 and "角色" in no_role.value.zh


def test_resident_words_are_masked_and_the_first_one_is_marked(container, staff):
    service = handoffs(container)
    assert service.resident_message("webchat", "s-4", "你好") is None      # not handed off
    held, _ = service.open("webchat", "s-4", open_handoff_case(container.cases, "webchat", "s-4"))
    _, said, first = service.resident_message("webchat", "s-4", "我的电话是13812345678")
    _, _, second = service.resident_message("webchat", "s-4", "还在吗")
    assert (first, second) == (True, False)
    assert "13812345678" not in said["text"] and said["sender"] == "resident"
    with container.engine.connect() as conn:
        stored = [r.text for r in conn.execute(handoff_messages.select())]
    assert not any("13812345678" in text for text in stored)


def test_take_write_and_hand_back(container, staff):
    service = handoffs(container)
    held, _ = service.open("webchat", "s-5", open_handoff_case(container.cases, "webchat", "s-5"))
    boss = staff["boss"]
    taken, said = service.staff_message(boss, held.id, "您好，我是督办，<b>请说</b>")   # writing takes it
    assert (taken.state, taken.taken_by) == (ACTIVE, "boss")
    assert said["text"] == "您好，我是督办，<b>请说</b>" and said["username"] == "boss"
    with pytest.raises(StaffError) as taken_by_boss:
        service.staff_message(staff["agent"], held.id, "我来")
    assert taken_by_boss.value.status == 409
    with pytest.raises(StaffError) as too_long:
        service.staff_message(boss, held.id, "长" * 2001)
    assert too_long.value.status == 413
    with pytest.raises(StaffError) as empty:
        service.staff_message(boss, held.id, " \n ")
    assert empty.value.status == 400
    assert service.take(staff["boss"], held.id).taken_by == "boss"
    back = service.hand_back(boss, held.id)
    assert back.state == CLOSED and back.closed_at is not None
    assert not service.is_handed_off("webchat", "s-5")
    with pytest.raises(StaffError) as closed:
        service.staff_message(boss, held.id, "还有一句")
    assert closed.value.status == 409
    senders = [m["sender"] for m in service.messages(held.id)]
    assert senders == ["system", "system", "staff", "system"]     # opened, taken, said, returned
    reopened, created = service.open("webchat", "s-5")
    assert created and reopened.id != held.id


def test_a_hand_off_nobody_touches_for_three_days_goes_back_to_the_assistant(container, staff):
    clock = container.cases.clock
    service = HandoffService(container.engine, container.catalog, clock=clock)
    stale, _ = service.open("telegram", "501")
    touched, _ = service.open("telegram", "502")
    clock.advance(hours=70)
    service.take(staff["boss"], touched.id)
    clock.advance(hours=3)
    assert service.resident_message("telegram", "501", "有人吗") is None      # the bot answers
    assert service.get(stale.id).state == CLOSED
    assert "自动转回" in service.messages(stale.id)[-1]["text"]
    assert service.resident_message("telegram", "502", "有人吗") is not None  # taken 3 h ago


# ====================================================================== the web chat
class HandoffRasa(FakeRasa):
    """The web tests' dialogue stand-in, which also hands off on "转人工" as the action does."""

    def answer(self, sender: str, text: str) -> list[dict]:
        if text == "转人工":
            channel, _, address = sender.partition(":")
            return [handoff_reply(open_handoff_case(self.cases, channel, address))]
        return super().answer(sender, text)


class RecordingHub(InProcessHub):
    def __init__(self) -> None:
        super().__init__()
        self.published: list[tuple[str, dict]] = []

    def publish(self, session: str, item: dict) -> None:
        self.published.append((session, item))
        super().publish(session, item)


@pytest.fixture
def web(tmp_path):
    port = free_port()
    rasa_url = f"http://127.0.0.1:{port}"
    container = make_container(f"sqlite:///{tmp_path / 'cases.db'}", tmp_path, RASA_URL=rasa_url)
    from bot.nlu.case_type import model
    model()                          # loaded once before the stand-in must answer in 2 s
    fake = HandoffRasa(container.cases)
    hub = RecordingHub()
    with live_server(fake.app(), port):
        app = create_app(container, hub=hub, web=web_settings(rasa_url))
        with TestClient(app) as client:
            yield container, fake, hub, client
    container.engine.dispose()


def bearer(container, username: str, role: str, **ties) -> dict:
    container.staff.add(username, role, PASSWORD, **ties)
    return {"Authorization": f"Bearer {container.staff.create_token(username)}"}


def say(client, text: str) -> list[dict]:
    response = client.post("/api/chat/message", json={"text": text})
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def test_web_chat_handed_off_never_reaches_rasa_until_handed_back(web):
    container, fake, hub, client = web
    agent = bearer(container, "agent1", "agent", agent_code=POINT_AGENT)
    client.get("/api/chat/session")
    sid = client.cookies.get(COOKIE).split(".")[0]
    [opened] = say(client, "转人工")
    assert opened["custom"]["handoff"] is True
    assert [m["text"] for m in say(client, "我家楼上漏水，电话13812345678")] == [WAIT_NOTICE]
    assert say(client, "还要等多久") == []                       # told once, not on every message
    fire = say(client, FIRE)
    assert len(fire) == 1 and "119" in fire[0]["text"]          # the app answers an emergency itself
    assert fake.received[-1]["message"] == "转人工"               # none of the three reached Rasa

    [item] = client_json(client, "/api/staff/handoffs", agent)["items"]
    assert item["state"] == WAITING and item["case"] == opened["custom"]["case"]
    detail = client_json(client, f"/api/staff/handoffs/{item['id']}", agent)
    said = [(m["sender"], m["text"]) for m in detail["messages"]]
    assert ("resident", "还要等多久") in said and not any("13812345678" in t for _, t in said)
    assert any(s == "system" and "119" in t for s, t in said)   # the agent sees the safety note
    [note] = [t for s, t in said if s == "system" and "119" in t]
    referred = container.cases.get(note.split("诉求 ")[1].rstrip("。"))   # and the referred case
    assert referred.category["code"] == "security.emergency" and referred.state == "referred"

    written = client.post(f"/api/staff/handoffs/{item['id']}/messages", headers=agent,
                          json={"text": "您好，我是代理员，马上联系物业。"})
    assert written.status_code == 201 and written.json()["handoff"]["state"] == ACTIVE
    pushed = [i for s, i in hub.published if s == sid and i["kind"] == "bot"]
    assert pushed[-1]["messages"][0] == {"text": "您好，我是代理员，马上联系物业。", "buttons": [],
                                         "image": None, "custom": {"from": STAFF_LABEL}}
    inbox = client.get("/api/chat/updates").json()["items"]
    assert inbox[-1]["id"] == pushed[-1]["id"]                   # kept for a page that was closed

    back = client.post(f"/api/staff/handoffs/{item['id']}/return", headers=agent)
    assert back.status_code == 200 and back.json()["handoff"]["state"] == CLOSED
    assert client.get("/api/chat/updates").json()["items"][-1]["messages"][0]["text"] == RETURNED
    say(client, "谢谢")
    assert fake.received[-1]["message"] == "谢谢"                # the bot answers again


def test_the_resident_can_leave_the_person_and_the_agent_sees_it(web):
    container, fake, hub, client = web
    agent = bearer(container, "agent1", "agent", agent_code=POINT_AGENT)
    client.get("/api/chat/session")
    say(client, "转人工")
    assert "结束人工" in say(client, "你好")[0]["text"]          # the wait notice says how to leave
    assert [m["text"] for m in say(client, "结束人工。")] == [RETURNED]
    [item] = client_json(client, "/api/staff/handoffs?state=closed", agent)["items"]
    detail = client_json(client, f"/api/staff/handoffs/{item['id']}", agent)
    assert detail["handoff"]["state"] == CLOSED
    assert detail["messages"][-1]["sender"] == "system" and "群众结束" in detail["messages"][-1]["text"]
    say(client, "结束人工")                                      # no hand-off now: the bot answers
    assert fake.received[-1]["message"] == "结束人工"
    say(client, "我要结束人工服务的话怎么弄")                     # not the whole message: kept for Rasa
    assert fake.received[-1]["message"] == "我要结束人工服务的话怎么弄"


def test_a_message_kept_while_rasa_was_down_goes_to_the_person_once_handed_off(web):
    import asyncio

    container, fake, hub, client = web
    client.get("/api/chat/session")
    sid = client.cookies.get(COOKIE).split(".")[0]
    fake.mode = "down"
    assert client.post("/api/chat/message", json={"text": "我家楼上漏水了"}).status_code == 202
    fake.mode = "up"
    service = handoffs(container)
    held, _ = service.open("webchat", sid, open_handoff_case(container.cases, "webchat", sid))
    with container.engine.begin() as conn:
        conn.execute(update(pending).values(next_attempt_at=utcnow()))
    assert asyncio.run(client.app.state.chat.relay.retry_once()) == 1
    assert fake.received == []                                    # Rasa never got it
    assert [m["text"] for m in service.messages(held.id) if m["sender"] == "resident"] == ["我家楼上漏水了"]
    items = client.get("/api/chat/updates").json()["items"]
    assert items[-1]["messages"][0]["text"] == WAIT_NOTICE
    with container.engine.connect() as conn:
        assert conn.execute(pending.select()).one().status == "done"


def client_json(client, path: str, headers: dict) -> dict:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_console_api_refusals(web):
    container, fake, hub, client = web
    agent = bearer(container, "agent1", "agent", agent_code=POINT_AGENT)
    other = bearer(container, "agent2", "agent", agent_code=OTHER_AGENT)
    body = bearer(container, "body1", "body", body_code=next(iter(container.catalog.bodies)))
    client.get("/api/chat/session")
    say(client, "转人工")
    [item] = client_json(client, "/api/staff/handoffs", agent)["items"]
    path = f"/api/staff/handoffs/{item['id']}"
    assert client.get("/api/staff/handoffs").status_code == 401
    assert client.get(path, headers=other).status_code == 404
    assert client.get("/api/staff/handoffs/999999", headers=agent).status_code == 404
    assert client.get("/api/staff/handoffs", headers=body).json()["code"] == "forbidden"
    assert client.post(path + "/take", headers=other).status_code == 404
    huge = client.post(path + "/messages", headers=agent, json={"text": "长" * 100_000})
    assert huge.status_code == 413 and "太长" in huge.json()["error"]
    assert client.post(path + "/messages", headers=agent, json={"words": "x"}).status_code == 400
    assert client_json(client, path, agent)["handoff"]["state"] == WAITING   # nothing changed
    taken = client.post(path + "/take", headers=agent)
    assert taken.status_code == 200 and taken.json()["handoff"]["taken_by"] == "agent1"


def test_console_stream_announces_new_messages(web):
    container, fake, hub, client = web
    agent = bearer(container, "agent1", "agent", agent_code=POINT_AGENT)
    client.get("/api/chat/session")
    say(client, "转人工")
    [item] = client_json(client, "/api/staff/handoffs", agent)["items"]
    events = []
    with client.stream("GET", "/api/staff/handoffs/stream", headers=agent) as stream:
        lines = stream.iter_lines()
        assert next(lines).startswith("retry:")
        say(client, "还在吗")
        for line in lines:
            if line.startswith("data:"):
                events.append(line)
                break
    assert f'"handoff": {item["id"]}' in events[0]


# ====================================================================== Telegram
CHAT = 4243


@pytest.fixture
def telegram(tmp_path):
    with FakeTelegram() as tg, RestRasa() as rasa:
        container = Container(make_settings(tmp_path, tg.base_url, tg.token, rasa.url))
        container.upgrade()

        def reply(body: dict) -> list[dict]:
            if body["message"] == "转人工":
                return [handoff_reply(open_handoff_case(container.cases, "telegram", str(CHAT)))]
            return [{"text": f"收到：{body['message']}"}]

        rasa.reply = reply
        with LiveAdapter(container, mode="polling") as live:
            yield container, tg, rasa, live
        container.engine.dispose()


def test_telegram_handed_off_chat_stays_with_the_person(telegram):
    container, tg, rasa, live = telegram
    agent = bearer(container, "agent1", "agent", agent_code=POINT_AGENT)
    tg.message(CHAT, "转人工")
    tg.wait_for_texts(CHAT, 1)
    live.idle()
    service = handoffs(container)
    held = service.live("telegram", str(CHAT))
    assert held is not None and held.agent_code == POINT_AGENT
    tg.message(CHAT, "我家楼上漏水")
    assert tg.wait_for_texts(CHAT, 2)[-1] == WAIT_NOTICE
    tg.message(CHAT, FIRE)
    assert "119" in tg.wait_for_texts(CHAT, 3)[-1]
    tg.location(CHAT)
    live.idle()
    time.sleep(0.2)
    assert rasa.messages() == ["转人工"]
    assert [m["text"] for m in service.messages(held.id) if m["sender"] == "resident"] == \
        ["我家楼上漏水", FIRE, "（发来了一个位置）"]

    # the console, in the app process, writes to the chat through the Bot API
    with TestClient(create_app(container, web=web_settings(rasa.url))) as client:
        written = client.post(f"/api/staff/handoffs/{held.id}/messages", headers=agent,
                              json={"text": "您好，代理员已收到，马上安排维修。"})
        assert written.status_code == 201, written.text
        assert tg.wait_for_texts(CHAT, 4)[-1] == f"【{STAFF_LABEL}】您好，代理员已收到，马上安排维修。"
        assert client.post(f"/api/staff/handoffs/{held.id}/return", headers=agent).status_code == 200
        assert tg.wait_for_texts(CHAT, 5)[-1] == RETURNED
    tg.message(CHAT, "好的谢谢")
    assert tg.wait_for_texts(CHAT, 6)[-1] == "收到：好的谢谢"          # the bot answers again
    assert rasa.messages() == ["转人工", "好的谢谢"]
