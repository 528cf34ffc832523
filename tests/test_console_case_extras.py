"""The case page's extras API (templates, similar cases, attachments) against the real app,
real staff sessions and a real case store (SQLite and PostgreSQL)."""
from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from bot.cases import OpenCase
from bot.cases.attachments import CaseAttachments
from bot.web.app import create_app
from tests.test_console_api import PASSWORD, login
from tests.web_support import web_settings

NOISE = "文化路28号楼下烧烤店每天营业到凌晨两点，噪音太大睡不着，电话13812345678"
CHAT = "777001"


@pytest.fixture
def app(container):
    staff = container.staff
    staff.add("agent1", "agent", PASSWORD, agent_code="A-S1P1")
    staff.add("envbody", "body", PASSWORD, body_code="B-SthJ")
    staff.add("water1", "body", PASSWORD, body_code="B-GD")
    staff.add("super1", "supervisor", PASSWORD)
    staff.add("operator1", "operator", PASSWORD)
    return create_app(container, web=web_settings("http://127.0.0.1:9"))


def _open(container, text=NOISE, **kw) -> str:
    fields = {"text": text, "category": "env.noise", "area": "S1P1G1", "channel": "telegram",
              "address": CHAT, "actor": "chat", **kw}
    return container.cases.open_case(OpenCase(**fields)).number


@pytest.fixture
def case(container) -> str:
    return _open(container)


def test_without_a_session_401(app, case):
    client = TestClient(app)
    for path in (f"/api/staff/cases/{case}/templates", f"/api/staff/cases/{case}/similar",
                 f"/api/staff/cases/{case}/attachments", "/api/staff/attachments/1"):
        r = client.get(path)
        assert r.status_code == 401 and r.json()["code"] == "login_required", path


def test_templates_filled_for_the_case(app, case, container):
    client, _ = login(app, "agent1")
    r = client.get(f"/api/staff/cases/{case}/templates")
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["can_reply"] is True and data["number"] == case
    first = data["templates"][0]
    assert first["scope"] == "category" and first["title"].startswith("噪声")
    received = next(t for t in data["templates"] if t["title"] == "已受理")
    assert case in received["text"] and "县生态环境分局" in received["text"]
    assert {"id", "scope", "title", "text"} == set(first)


def test_another_bodys_case_is_the_same_404_as_none(app, case):
    client, _ = login(app, "water1")
    for suffix in ("templates", "similar", "attachments"):
        theirs = client.get(f"/api/staff/cases/{case}/{suffix}")
        missing = client.get(f"/api/staff/cases/20000101-9999/{suffix}")
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json() == missing.json() and "没有找到" in theirs.json()["error"]


def test_similar_cases_only_visible_ones_and_merge_by_the_generic_action(app, case, container):
    twin = _open(container, text="文化路28号烧烤店半夜营业，噪音太大睡不着", address="777002")
    moved = _open(container, text="文化路28号烧烤店凌晨两点还很吵，睡不着", address="777003")
    container.cases.act(moved, "transfer", to="B-CGJ", text="属城管职责")
    body, _ = login(app, "envbody")
    seen = body.get(f"/api/staff/cases/{case}/similar").json()
    assert [s["number"] for s in seen["items"]] == [twin]       # the transferred one is not theirs
    boss, csrf = login(app, "super1")
    data = boss.get(f"/api/staff/cases/{case}/similar").json()
    assert set(s["number"] for s in data["items"]) == {twin, moved} and data["can_merge"] is True
    item = data["items"][0]
    assert 0 < item["score"] <= 1 and item["reason"] and "13812345678" not in item["summary"]
    merged = boss.post(f"/api/staff/cases/{case}/actions", json={"action": "merge", "to": twin},
                       headers={"X-CSRF-Token": csrf})
    assert merged.status_code == 200 and merged.json()["merged_into"] == twin
    after = boss.get(f"/api/staff/cases/{twin}/similar").json()
    assert case not in [s["number"] for s in after["items"]]
    assert boss.get(f"/api/staff/cases/{case}/similar").json()["can_merge"] is False


def test_attachments_listed_and_downloaded_safely(app, case, container):
    files = CaseAttachments(container.engine)
    photo = files.file("telegram", CHAT, kind="photo", content=b"\xff\xd8jpeg", mime_type="image/jpeg")
    name = '通知 "1".html'
    page = files.file("telegram", CHAT, kind="document", content=b"<script>alert(1)</script>",
                      mime_type="text/html", file_name=name)
    client, _ = login(app, "agent1")
    listed = client.get(f"/api/staff/cases/{case}/attachments").json()["items"]
    assert [a["id"] for a in listed] == [photo.id, page.id]
    assert listed[0]["url"] == f"/api/staff/attachments/{photo.id}"
    assert listed[0]["kind_label"] == "照片" and listed[0]["size"] == 6

    r = client.get(listed[0]["url"])
    assert r.status_code == 200 and r.content == b"\xff\xd8jpeg"
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"].startswith(f'attachment; filename="attachment-{photo.id}.jpg"')

    r = client.get(listed[1]["url"])
    assert r.headers["content-type"] == "application/octet-stream"
    disposition = r.headers["content-disposition"]
    assert disposition == (f"attachment; filename=\"attachment-{page.id}.html\"; "
                           f"filename*=UTF-8''{quote(name, safe='')}")
    assert "sandbox" in r.headers["content-security-policy"]


def test_files_of_cases_one_may_not_see_or_held_ones_are_404(app, case, container):
    files = CaseAttachments(container.engine)
    kept = files.file("telegram", CHAT, kind="photo", content=b"x", mime_type="image/jpeg")
    held = files.file("telegram", "no-case-here", kind="photo", content=b"y", mime_type="image/jpeg")
    client, _ = login(app, "water1")
    missing = client.get("/api/staff/attachments/999999")
    assert missing.status_code == 404
    for path in (f"/api/staff/attachments/{kept.id}", f"/api/staff/attachments/{held.id}",
                 "/api/staff/attachments/abc", "/api/staff/attachments/1e3",
                 "/api/staff/attachments/" + "9" * 40):
        r = client.get(path)
        assert r.status_code == 404 and r.json() == missing.json(), path
    mine, _ = login(app, "agent1")
    assert mine.get(f"/api/staff/attachments/{held.id}").status_code == 404
    assert mine.get(f"/api/staff/attachments/{kept.id}").status_code == 200
