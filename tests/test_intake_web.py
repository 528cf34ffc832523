"""The intake API and operator page, against a real SQLite store."""
from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.intake.service import IntakeService
from bot.nlu import KeywordClassifier
from bot.web import intake_routes
from bot.web.errors import WebError, error_response
from tests.web_doors import OPERATOR_PASSWORD, operator_headers

NOISE = "话务员：您好。\n市民：我是文化路社区的，楼下烧烤店天天吵到凌晨两点。姓王，电话13812345678。"


def make_client(container, *, login: bool = True) -> TestClient:
    """The intake router on its own, called with an operator's API token (`login`)."""
    app = FastAPI()
    app.state.container = container
    app.state.intake = IntakeService(container.cases, container.catalog,
                                     KeywordClassifier(container.catalog), actor="operator")
    app.add_exception_handler(WebError, lambda request, exc: error_response(exc))
    app.include_router(intake_routes.router())
    return TestClient(app, headers=operator_headers(container) if login else None)


@pytest.fixture
def client(sqlite_container) -> TestClient:
    return make_client(sqlite_container)


def test_plain_text_proposal_then_confirm(client):
    r = client.post("/api/intake", content=NOISE.encode(), headers={"Content-Type": "text/plain; charset=utf-8"})
    assert r.status_code == 200, r.text
    proposal = r.json()
    assert proposal["category"]["code"] == "env.noise" and proposal["phone"] == "13812345678"
    assert proposal["area"] == "S1P1" and proposal["name"] == "王"
    r = client.post("/api/intake/confirm", json={"proposal": proposal, "corrections": {"name": "王女士"}})
    assert r.status_code == 200, r.text
    case = r.json()["case"]
    assert case["number"] and case["state"] == "assigned" and r.json()["existing"] is False
    again = client.post("/api/intake/confirm", json={"proposal": proposal, "corrections": {"name": "王女士"}})
    assert again.json()["case"]["number"] == case["number"] and again.json()["existing"] is True


def test_an_edit_confirmed_after_the_case_was_opened_is_refused_not_lost(client, sqlite_container):
    proposal = client.post("/api/intake", content=NOISE.encode(), headers={"Content-Type": "text/plain"}).json()
    first = client.post("/api/intake/confirm", json={"proposal": proposal})
    assert first.status_code == 200 and first.json()["existing"] is False
    number = first.json()["case"]["number"]
    opened = sqlite_container.cases.get(number)
    # the same content again (spacing aside, and the client's key ignored): the case, as before
    for same in ({"proposal": proposal}, {"proposal": {**proposal, "key": "intake:other"}},
                 {"proposal": {**proposal, "summary": " " + proposal["summary"].replace("，", "， ")}}):
        again = client.post("/api/intake/confirm", json=same)
        assert again.status_code == 200 and again.json() == {**first.json(), "existing": True}
    edits = [({"proposal": {**proposal, "summary": "王女士反映楼下烧烤店油烟大"}}, ["摘要"]),
             ({"proposal": proposal, "corrections": {"category": "env.cooking_fume"}}, ["诉求分类"]),
             ({"proposal": proposal, "corrections": {"phone": "13900001111", "area": "S1P2"}},
              ["区域", "联系电话"]),
             ({"proposal": proposal, "corrections": {"urgency": "emergency"}}, ["紧急转介"])]
    for body, changed in edits:
        r = client.post("/api/intake/confirm", json=body)
        assert r.status_code == 409, r.text
        data = r.json()
        assert data["code"] == "conflict" and data["case"] == {"number": number} and data["changed"] == changed
        assert number in data["error"] and "修改没有保存" in data["error"] and "在该诉求上" in data["error"]
        assert number in data["error_en"]
    assert [c.number for c in sqlite_container.cases.list_cases()] == [number]
    now = sqlite_container.cases.get(number)
    assert (now.summary, now.category, now.area, now.contact, len(now.events)) == \
        (opened.summary, opened.category, opened.area, opened.contact, len(opened.events))


def test_json_turns_body(client):
    turns = [{"speaker": "话务员", "text": "您好"}, {"speaker": "市民", "text": "幸福里停水了，电话13900001111"}]
    r = client.post("/api/intake", content=json.dumps(turns, ensure_ascii=False).encode(),
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 200 and r.json()["area"] == "S1P2"
    r = client.post("/api/intake", json={"text": NOISE})
    assert r.status_code == 200 and r.json()["phone"] == "13812345678"


def test_gb18030_text_body(client):
    r = client.post("/api/intake", content=NOISE.encode("gb18030"), headers={"Content-Type": "text/plain"})
    assert r.status_code == 200 and r.json()["phone"] == "13812345678"


def test_emergency_confirm_refers(client):
    r = client.post("/api/intake", content="市民：救命，滨河社区4号楼着火了！".encode(),
                    headers={"Content-Type": "text/plain"})
    p = r.json()
    assert p["urgency"]["level"] == "emergency" and "119" in p["referral"]
    r = client.post("/api/intake/confirm", json={"proposal": p, "corrections": {}})
    assert r.json()["case"]["state"] == "referred"


def test_merge_through_the_api(client):
    first = client.post("/api/intake", content=NOISE.encode(), headers={"Content-Type": "text/plain"}).json()
    number = client.post("/api/intake/confirm", json={"proposal": first}).json()["case"]["number"]
    second = client.post("/api/intake", content=NOISE.replace("13812345678", "13900001111").encode(),
                         headers={"Content-Type": "text/plain"}).json()
    assert second["duplicates"][0]["number"] == number
    r = client.post("/api/intake/confirm", json={"proposal": second, "corrections": {"merge_into": number}})
    assert r.json()["case"]["state"] == "merged" and r.json()["case"]["merged_into"] == number


@pytest.mark.parametrize("body, content_type", [
    (b"", "text/plain"),
    (b"\x00\x01\x02\x03" * 100, "text/plain"),
    (b"{broken", "application/json"),
    ("话务员：您好？\n话务员：没声音。".encode(), "text/plain"),
])
def test_bad_transcripts_are_400_in_chinese_and_english(client, body, content_type):
    r = client.post("/api/intake", content=body, headers={"Content-Type": content_type})
    assert r.status_code == 400 and r.json()["error"] and r.json()["error_en"]


def test_confirm_refuses_half_filled(client, sqlite_container):
    p = client.post("/api/intake", content="市民：幸福里停水了".encode(), headers={"Content-Type": "text/plain"}).json()
    r = client.post("/api/intake/confirm", json={"proposal": p, "corrections": {}})
    assert r.status_code == 400 and "联系电话" in r.json()["error"]
    r = client.post("/api/intake/confirm", json={"proposal": p, "corrections": {"phone": "13800000000",
                                                                               "category": "bogus"}})
    assert r.status_code == 400
    r = client.post("/api/intake/confirm", json={"corrections": {}})
    assert r.status_code == 400
    assert sqlite_container.cases.list_cases() == []


def test_page_and_options(client):
    r = client.get("/intake")
    assert r.status_code == 200 and "来电转写登记" in r.text and "script-src 'self'" in r.headers["content-security-policy"]
    assert client.get("/intake/intake.js").status_code == 200
    assert client.get("/intake/intake.css").status_code == 200
    options = client.get("/api/intake/options").json()
    assert any(c["code"] == "env.noise" for c in options["categories"])
    assert any(a["code"] == "S1P1" for a in options["areas"])


def test_a_staff_member_who_may_not_take_calls_gets_a_page_saying_so(sqlite_container):
    sqlite_container.staff.add("agent1", "agent", OPERATOR_PASSWORD, agent_code="A-S1P1")
    token = sqlite_container.staff.create_token("agent1")
    r = make_client(sqlite_container, login=False).get(
        "/intake", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
    assert "没有权限" in r.text and "话务员" in r.text and 'href="/console"' in r.text
    assert "来电转写登记" not in r.text


def test_the_api_needs_an_operator_login(sqlite_container):
    anonymous = make_client(sqlite_container, login=False)
    for path in ("/api/intake", "/api/intake/confirm"):
        r = anonymous.post(path, content=NOISE.encode(), headers={"Content-Type": "text/plain"})
        assert r.status_code == 401 and r.json()["code"] == "login_required"
    assert anonymous.get("/api/intake/options").status_code == 401
    sqlite_container.staff.add("agent1", "agent", OPERATOR_PASSWORD, agent_code="A-S1P1")
    token = sqlite_container.staff.create_token("agent1")
    r = anonymous.post("/api/intake", content=NOISE.encode(),
                       headers={"Content-Type": "text/plain", "Authorization": f"Bearer {token}"})
    assert r.status_code == 403 and "话务员" in r.json()["error"]
    r = make_client(sqlite_container).post("/api/intake", content=NOISE.encode(),
                                            headers={"Content-Type": "text/plain"})
    assert r.status_code == 200
