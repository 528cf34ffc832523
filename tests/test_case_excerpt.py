"""The conversation a case came from: kept masked and bounded on the open event, passed by the
chat actions and by hotline intake, and shown (addresses masked) in the console's case JSON."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from actions import report, support
from actions.excerpt import conversation_excerpt
from bot.cases import InvalidInput, OpenCase
from bot.cases.excerpt import MAX_LINE, MAX_LINES
from bot.intake.reader import read_text
from bot.intake.service import IntakeService
from bot.nlu import KeywordClassifier
from bot.staff.passwords import Passwords
from bot.web.app import create_app
from tests.chat_helpers import chat, run, tracker  # noqa: F401
from tests.helpers import TEXT
from tests.test_intake_web import make_client
from tests.web_support import web_settings

NOISE = "楼下烧烤店每天半夜还很吵，吵得孩子睡不着"
PASSWORD = "长密码-不常见-2026"


def opened_excerpt(view) -> list[dict] | None:
    [opening] = [e for e in view.events if e.action == "open"]
    return opening.data.get("excerpt")


def test_excerpt_is_stored_masked_on_the_open_event(service):
    view = service.open_case(OpenCase(text=TEXT, category="env.noise", excerpt=(
        {"who": "resident", "text": "我的电话是13812345678，  楼下太吵"},
        {"who": "bot", "text": "好的，我来帮您登记。"})))
    lines = opened_excerpt(service.get(view.number))
    assert lines == [{"who": "resident", "text": "我的电话是138****5678， 楼下太吵"},
                     {"who": "bot", "text": "好的，我来帮您登记。"}]
    assert "13812345678" not in str(service.get(view.number).to_dict())


def test_excerpt_keeps_the_last_lines_and_cuts_long_ones(service):
    lines = [{"who": "caller", "text": f"第{i}句"} for i in range(MAX_LINES + 5)]
    lines.append({"who": "operator", "text": "长" * (MAX_LINE + 100)})
    lines.append({"who": "caller", "text": "   "})              # blank: dropped
    view = service.open_case(OpenCase(text=TEXT, category="env.noise", excerpt=tuple(lines)))
    kept = opened_excerpt(view)
    assert len(kept) == MAX_LINES
    assert kept[0] == {"who": "caller", "text": "第6句"}
    assert kept[-1] == {"who": "operator", "text": "长" * MAX_LINE}


def test_no_excerpt_no_key(service):
    view = service.open_case(OpenCase(text=TEXT, category="env.noise"))
    assert opened_excerpt(view) is None


@pytest.mark.parametrize("line", [{"who": "admin", "text": "你好"}, {"text": "你好"}, "你好",
                                  {"who": "resident", "text": 42},
                                  {"who": "resident", "text": "坏\x00字符"}])
def test_malformed_excerpt_is_refused_in_chinese(service, line):
    with pytest.raises(InvalidInput) as err:
        service.open_case(OpenCase(text=TEXT, category="env.noise", excerpt=(line,)))
    assert "来源对话" in err.value.zh or "无法识别" in err.value.zh


# ---------------------------------------------------------------- chat actions
SAID = [{"event": "user", "text": "你好", "message_id": "m-0", "parse_data": {}},
        {"event": "bot", "text": "您好，请问有什么可以帮您？"},
        {"event": "user", "text": NOISE, "message_id": "m-1", "parse_data": {}},
        {"event": "slot", "name": "category", "value": "env.noise"},
        {"event": "bot", "text": "请问具体在什么位置？"},
        {"event": "user", "text": "文化路28号，电话13812345678", "message_id": "m-2", "parse_data": {}},
        {"event": "bot", "text": "请核对：……"}]
FILLED = {"report_text": NOISE, "description": NOISE, "category": "env.noise", "kind": "demand",
          "place": "文化路28号", "area": "S1P1", "contact": "13812345678",
          "report_key": "m-1", "pending": "confirm_report"}


def test_conversation_excerpt_starts_where_the_report_began():
    tk = tracker("确认", intent="affirm", slots=FILLED, events=SAID)
    assert conversation_excerpt(tk) == (
        {"who": "resident", "text": NOISE}, {"who": "bot", "text": "请问具体在什么位置？"},
        {"who": "resident", "text": "文化路28号，电话13812345678"},
        {"who": "bot", "text": "请核对：……"}, {"who": "resident", "text": "确认"})
    # no report under way: the last turns, at most `limit`
    loose = tracker("确认", intent="affirm", events=SAID)
    assert conversation_excerpt(loose, limit=2) == (
        {"who": "bot", "text": "请核对：……"}, {"who": "resident", "text": "确认"})


def test_open_case_action_passes_the_conversation(chat):
    run(report.ActionOpenCase(), tracker("确认", intent="affirm", slots=FILLED, events=SAID))
    lines = opened_excerpt(chat.cases.get("20261123-0001"))
    assert [line["who"] for line in lines] == ["resident", "bot", "resident", "bot", "resident"]
    assert lines[0]["text"] == NOISE and lines[2]["text"] == "文化路28号，电话138****5678"


def test_handoff_case_carries_the_conversation(chat):
    run(support.ActionHandoff(), tracker("我要找人工", intent="human_handoff", events=SAID[:2]))
    [item] = chat.cases.list_cases(channel="telegram", address="10001")
    assert opened_excerpt(chat.cases.get(item.number)) == [
        {"who": "resident", "text": "你好"}, {"who": "bot", "text": "您好，请问有什么可以帮您？"},
        {"who": "resident", "text": "我要找人工"}]


# ---------------------------------------------------------------- hotline intake
CALL = ("话务员：您好，代理热线，请讲。\n市民：我是文化路社区的，楼下烧烤店天天营业到凌晨两点，噪音太大睡不着。"
        "\n话务员：您贵姓，电话？\n市民：姓王，13812345678。希望管一管。\n话务员：好的王女士。")


def test_intake_passes_the_transcript_turns(sqlite_container):
    intake = IntakeService(sqlite_container.cases, sqlite_container.catalog,
                           KeywordClassifier(sqlite_container.catalog))
    proposal = intake.propose(read_text(CALL))
    assert [line["who"] for line in proposal.excerpt] == \
        ["operator", "caller", "operator", "caller", "operator"]
    view, _ = intake.confirm(proposal)
    lines = opened_excerpt(sqlite_container.cases.get(view.number))
    assert lines[0] == {"who": "operator", "text": "您好，代理热线，请讲。"}
    assert lines[3] == {"who": "caller", "text": "姓王，138****5678。希望管一管。"}


def test_web_intake_confirm_keeps_the_turns(sqlite_container):
    client = make_client(sqlite_container)
    proposal = client.post("/api/intake", content=CALL.encode(),
                           headers={"Content-Type": "text/plain; charset=utf-8"}).json()
    assert len(proposal["excerpt"]) == 5
    number = client.post("/api/intake/confirm", json={"proposal": proposal}).json()["case"]["number"]
    lines = opened_excerpt(sqlite_container.cases.get(number))
    assert [line["who"] for line in lines] == ["operator", "caller", "operator", "caller", "operator"]
    forged = {**proposal, "excerpt": [{"who": "bot", "text": "伪造的一句"}]}
    r = client.post("/api/intake/confirm", json={"proposal": forged})
    assert r.status_code == 400 and r.json()["error"]


# ---------------------------------------------------------------- console
def test_console_case_json_carries_the_excerpt_with_the_address_masked(container):
    container.staff.passwords = Passwords(time_cost=1, memory_cost=1024, parallelism=1)
    container.staff.add("envbody", "body", PASSWORD, body_code="B-SthJ")
    number = container.cases.open_case(OpenCase(
        text=NOISE, category="env.noise", area="S1P1G1", actor="chat",
        excerpt=({"who": "resident", "text": "就在文化路28号楼下，电话13812345678"},))).number
    client = TestClient(create_app(container, web=web_settings("http://127.0.0.1:9")))
    assert client.post("/api/staff/login",
                       json={"username": "envbody", "password": PASSWORD}).status_code == 200
    data = client.get(f"/api/staff/cases/{number}").json()
    [opening] = [e for e in data["events"] if e["action"] == "open"]
    assert opening["data"]["excerpt"] == [{"who": "resident", "text": "就在文化路**号楼下，电话138****5678"}]
    assert "28号" not in str(data) and "13812345678" not in str(data)
