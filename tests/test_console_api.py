"""The staff API `/api/staff/*`, the console pages and the locked intake door, against the real
app, a real case store (SQLite and PostgreSQL) and real staff accounts and sessions."""
from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.cases import OpenCase
from bot.cases.models import EventRow
from bot.staff.models import audit_log
from bot.staff.passwords import Passwords
from bot.web.app import create_app
from bot.web.console.auth import COOKIE, safe_next
from tests.web_support import web_settings

PASSWORD = "长密码-不常见-2026"
NOISE = "文化路28号楼下烧烤店每天营业到凌晨两点，噪音太大睡不着，电话13812345678"
TRANSCRIPT = "话务员：您好。\n市民：我是文化路社区的，楼下烧烤店天天吵到凌晨两点。姓王，电话13812345678。"


@pytest.fixture
def app(container):
    staff = container.staff
    staff.passwords = Passwords(time_cost=1, memory_cost=1024, parallelism=1)   # real Argon2, cheap
    staff.add("agent1", "agent", PASSWORD, agent_code="A-S1P1", name="王小军")
    staff.add("water1", "body", PASSWORD, body_code="B-GD")       # another body than the case's
    staff.add("envbody", "body", PASSWORD, body_code="B-SthJ")
    staff.add("operator1", "operator", PASSWORD)
    staff.add("super1", "supervisor", PASSWORD)
    staff.add("admin1", "admin", PASSWORD)
    return create_app(container, web=web_settings("http://127.0.0.1:9"))


@pytest.fixture
def case(container) -> str:
    view = container.cases.open_case(OpenCase(text=NOISE, category="env.noise", area="S1P1G1",
                                              contact_name="王芳", actor="chat"))
    assert view.state == "assigned" and view.body["code"] == "B-SthJ"
    return view.number


def login(app, username: str) -> tuple[TestClient, str]:
    client = TestClient(app)
    r = client.post("/api/staff/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return client, r.json()["csrf_token"]


def events(container, number: str) -> int:
    with container.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(EventRow.__table__))


def act(client, csrf, number, **body):
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    return client.post(f"/api/staff/cases/{number}/actions", json=body, headers=headers)


def test_without_a_session_everything_is_401_in_chinese(app, case):
    with TestClient(app) as client:
        for method, path in [("GET", "/api/staff/me"), ("GET", "/api/staff/cases"),
                             ("GET", f"/api/staff/cases/{case}"), ("GET", "/api/staff/audit"),
                             ("POST", f"/api/staff/cases/{case}/actions"),
                             ("POST", f"/api/staff/cases/{case}/reveal"), ("GET", "/api/staff/stream")]:
            r = client.request(method, path, json={"action": "accept"} if method == "POST" else None)
            assert r.status_code == 401, (path, r.text)
            assert r.json() == {"error": "请先登录。", "code": "login_required",
                                "error_en": "staff login required"}


def test_login_sets_a_strict_httponly_cookie_and_logout_ends_it(app):
    client = TestClient(app)
    r = client.post("/api/staff/login", json={"username": "agent1", "password": PASSWORD})
    assert r.status_code == 200
    assert r.json()["staff"]["username"] == "agent1" and r.json()["staff"]["role"] == "agent"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/" in cookie and "Secure" not in cookie        # plain http in the test
    me = client.get("/api/staff/me").json()
    assert me["csrf_token"] == r.json()["csrf_token"] and me["can"]["intake"] is False
    assert client.post("/api/staff/logout").json()["code"] == "csrf"
    assert client.post("/api/staff/logout", headers={"X-CSRF-Token": me["csrf_token"]}).status_code == 200
    assert client.get("/api/staff/me").status_code == 401


def test_wrong_password_and_unknown_user_get_the_same_answer(app):
    client = TestClient(app)
    wrong = client.post("/api/staff/login", json={"username": "agent1", "password": "不对的密码-123"})
    unknown = client.post("/api/staff/login", json={"username": "nobody", "password": "不对的密码-123"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() and "不正确" in wrong.json()["error"]
    assert COOKIE not in client.cookies


def test_five_wrong_passwords_lock_the_account_with_423(app):
    client = TestClient(app)
    answers = [client.post("/api/staff/login", json={"username": "agent1", "password": f"错误密码-{i}-x"})
               for i in range(6)]
    assert answers[-1].status_code == 423 and "锁定" in answers[-1].json()["error"]
    assert int(answers[-1].headers["retry-after"]) > 0
    right = client.post("/api/staff/login", json={"username": "agent1", "password": PASSWORD})
    assert right.status_code == 423                     # locked even with the right password


def test_missing_or_wrong_csrf_token_is_403_and_changes_nothing(app, container, case):
    client, csrf = login(app, "agent1")
    before = events(container, case)
    for headers in ({}, {"X-CSRF-Token": "0" * len(csrf)}, {"X-CSRF-Token": csrf + "x"},
                    {"X-CSRF-Token": "令牌".encode()}):
        r = client.post(f"/api/staff/cases/{case}/actions", json={"action": "accept"}, headers=headers)
        assert r.status_code == 403 and r.json()["code"] == "csrf", r.text
    cross = client.post(f"/api/staff/cases/{case}/actions", json={"action": "accept"},
                        headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"})
    assert cross.status_code == 403 and cross.json()["code"] == "csrf"
    site = client.post(f"/api/staff/cases/{case}/actions", json={"action": "accept"},
                       headers={"X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"})
    assert site.status_code == 403
    assert events(container, case) == before and container.cases.get(case).state == "assigned"
    foreign_login = TestClient(app).post("/api/staff/login", json={"username": "agent1", "password": PASSWORD},
                                         headers={"Origin": "https://evil.example"})
    assert foreign_login.status_code == 403 and COOKIE not in foreign_login.cookies
    proxied = client.post(f"/api/staff/cases/{case}/actions", json={"action": "accept"}, headers={
        "X-CSRF-Token": csrf, "Origin": "https://console.example", "X-Forwarded-Host": "console.example",
        "Sec-Fetch-Site": "same-origin"})
    assert proxied.status_code == 200 and proxied.json()["state"] == "accepted"
    ok = act(client, csrf, case, action="start")
    assert ok.status_code == 200 and ok.json()["state"] == "in_progress"


def test_a_tampered_or_expired_session_is_401(app, container):
    client, csrf = login(app, "agent1")
    sid = client.cookies.get(COOKIE)
    for value in (sid[:-1] + ("0" if sid[-1] != "0" else "1"), "x" * 5000, sid + "x"):
        other = TestClient(app)
        other.cookies.set(COOKIE, value)
        assert other.get("/api/staff/me").status_code == 401
    assert client.get("/api/staff/me").status_code == 200
    service = container.staff
    later = service.clock() + timedelta(hours=13)
    service.clock = lambda: later
    r = client.get("/api/staff/me")
    assert r.status_code == 401 and r.json()["code"] == "login_required"


def test_an_api_token_works_without_csrf(app, container, case):
    token = container.staff.create_token("agent1", "集成测试")
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        assert client.get("/api/staff/me").json()["csrf_token"] is None
        assert act(client, None, case, action="accept").json()["state"] == "accepted"
    with TestClient(app, headers={"Authorization": "Bearer " + "a" * 40}) as client:
        assert client.get("/api/staff/me").status_code == 401


def test_another_bodys_case_is_the_same_404_as_a_missing_number(app, case):
    client, csrf = login(app, "water1")
    theirs = client.get(f"/api/staff/cases/{case}")
    missing = client.get("/api/staff/cases/20990101-9999")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    acted = act(client, csrf, case, action="accept")
    assert acted.status_code == 404 and acted.json() == missing.json()
    listed = client.get("/api/staff/cases?queue=all").json()
    assert listed["total"] == 0 and listed["items"] == []
    own, own_csrf = login(app, "envbody")
    case_json = own.get(f"/api/staff/cases/{case}").json()
    assert case_json["number"] == case and "accept" in case_json["actions"]


def test_the_case_json_is_masked_with_actions_and_deadlines(app, case):
    client, _ = login(app, "agent1")
    data = client.get(f"/api/staff/cases/{case}").json()
    assert data["contact"] == "138****5678" and "13812345678" not in str(data)
    assert data["contact_name"] == "王*"
    assert data["actions"] and "accept" in data["actions"] and "resolve" not in data["actions"]
    assert data["deadlines"]["sign"] == data["sign_due_at"] and data["deadlines"]["resolution"]
    assert data["deadlines"]["contact"] and data["can_reveal"]["contact_phone"] == "联系电话"
    listed = client.get("/api/staff/cases?queue=pending_sign").json()
    assert [i["number"] for i in listed["items"]] == [case] and listed["counts"]["pending_sign"] == 1
    assert listed["items"][0]["deadlines"]["sign"]
    # the exact address: the road stays, the house number goes, in the page and in the list
    assert "文化路**号楼下" in data["text"] and "28号" not in str(data) + str(listed)


def test_the_place_is_masked_until_revealed_with_a_reason(app, container):
    number = container.cases.open_case(OpenCase(
        text="小区里的路灯坏了，12月5号就不亮了", category="urban.municipal_facility", area="S1P1G1",
        place="幸福里小区3栋2单元501门口", actor="chat")).number
    client, csrf = login(app, "agent1")
    data = client.get(f"/api/staff/cases/{number}").json()
    assert data["place"] == "幸福里小区*栋*单元***门口" and "12月5号" in data["text"]
    r = client.post(f"/api/staff/cases/{number}/reveal", json={"field": "place", "reason": "上门查看"},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["value"] == "幸福里小区3栋2单元501门口"
    with container.engine.connect() as conn:
        rows = conn.execute(select(audit_log)).all()
    assert [(x.username, x.case_number, x.field) for x in rows] == [("agent1", number, "place")]


def test_an_illegal_transition_is_409_in_chinese_and_a_forbidden_one_403(app, container, case):
    client, csrf = login(app, "agent1")
    r = act(client, csrf, case, action="resolve", text="已处理")
    assert r.status_code == 409 and r.json()["code"] == "illegal_transition"
    assert "当前状态“已派单”下不能执行“办结”" in r.json()["error"]
    forbidden = act(client, csrf, case, action="escalate")
    assert forbidden.status_code == 403 and "代理员" in forbidden.json()["error"]
    unknown = act(client, csrf, case, action="explode")
    assert unknown.status_code == 400
    assert container.cases.get(case).state == "assigned"


def test_a_100000_character_reply_is_refused_politely_and_nothing_changes(app, container, case):
    client, csrf = login(app, "agent1")
    assert act(client, csrf, case, action="accept").status_code == 200
    before = events(container, case)
    for size in (100_000, 5001):
        r = act(client, csrf, case, action="reply", text="很" * size)
        assert r.status_code == 413, r.text
        assert "太" in r.json()["error"] and "5000" in r.json()["error"]
    empty = act(client, csrf, case, action="reply", text="   ")
    assert empty.status_code == 400 and "不能为空" in empty.json()["error"]
    assert events(container, case) == before


def test_script_in_a_note_comes_back_as_text(app, case):
    client, csrf = login(app, "agent1")
    script = '<script>alert(1)</script><img src=x onerror="window.pwned=1">'
    r = act(client, csrf, case, action="note", text=script)
    assert r.status_code == 200
    assert r.json()["events"][-1]["internal_note"] == script
    assert r.headers["content-type"].startswith("application/json")


def test_a_reveal_asks_a_reason_and_writes_the_audit_log(app, container, case):
    client, csrf = login(app, "agent1")
    url = f"/api/staff/cases/{case}/reveal"
    no_csrf = client.post(url, json={"field": "contact_phone", "reason": "电话联系群众"})
    assert no_csrf.status_code == 403
    no_reason = client.post(url, json={"field": "contact_phone", "reason": " "},
                            headers={"X-CSRF-Token": csrf})
    assert no_reason.status_code == 400 and "原因" in no_reason.json()["error"]
    r = client.post(url, json={"field": "contact_phone", "reason": "电话联系群众"},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["value"] == "13812345678"
    with container.engine.connect() as conn:
        rows = conn.execute(select(audit_log)).all()
    assert [(x.username, x.case_number, x.field, x.reason) for x in rows] == \
        [("agent1", case, "contact_phone", "电话联系群众")]
    assert client.get("/api/staff/audit").status_code == 403
    other, other_csrf = login(app, "water1")
    assert other.post(url, json={"field": "contact_phone", "reason": "看看"},
                      headers={"X-CSRF-Token": other_csrf}).status_code == 404
    supervisor, _ = login(app, "super1")
    entries = supervisor.get("/api/staff/audit").json()["entries"]
    assert entries[0]["case_number"] == case and entries[0]["username"] == "agent1"
    assert "13812345678" not in str(entries)


def test_intake_is_locked_to_operators_and_supervisors(app):
    with TestClient(app) as anonymous:
        r = anonymous.post("/api/intake", content=TRANSCRIPT.encode(),
                           headers={"Content-Type": "text/plain; charset=utf-8"})
        assert r.status_code == 401 and r.json()["code"] == "login_required"
        assert anonymous.get("/api/intake/options").status_code == 401
        page = anonymous.get("/intake", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/console/login?next=%2Fintake"
    agent, agent_csrf = login(app, "agent1")
    refused = agent.post("/api/intake", content=TRANSCRIPT.encode(),
                         headers={"Content-Type": "text/plain", "X-CSRF-Token": agent_csrf})
    assert refused.status_code == 403 and "话务员" in refused.json()["error"]
    operator, csrf = login(app, "operator1")
    assert operator.get("/intake").status_code == 200
    no_csrf = operator.post("/api/intake", content=TRANSCRIPT.encode(), headers={"Content-Type": "text/plain"})
    assert no_csrf.status_code == 403 and no_csrf.json()["code"] == "csrf"
    proposal = operator.post("/api/intake", content=TRANSCRIPT.encode(),
                             headers={"Content-Type": "text/plain", "X-CSRF-Token": csrf})
    assert proposal.status_code == 200, proposal.text
    done = operator.post("/api/intake/confirm", json={"proposal": proposal.json()},
                         headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200, done.text
    number = done.json()["case"]["number"]
    # the operator sees what they opened (the case records them as its opener)
    assert operator.get(f"/api/staff/cases/{number}").json()["events"][0]["actor"] == "staff:operator1"


def test_pages_redirect_to_the_login_and_carry_the_strict_csp(app, case):
    with TestClient(app) as anonymous:
        r = anonymous.get(f"/console/cases/{case}?tab=1", follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"] == f"/console/login?next=%2Fconsole%2Fcases%2F{case}%3Ftab%3D1"
        login_page = anonymous.get("/console/login?next=//evil.example")
        assert login_page.status_code == 200 and "script-src 'self'" in login_page.headers["content-security-policy"]
    client, _ = login(app, "agent1")
    for path in ("/console", f"/console/cases/{case}", "/console/audit", "/console/staff"):
        r = client.get(path)
        assert r.status_code == 200 and "<script>" not in r.text and "onclick" not in r.text
        assert "'unsafe-inline'" not in r.headers["content-security-policy"]
    assert 'id="handoffs"' in client.get("/console").text
    assert 'id="case-extras"' in client.get(f"/console/cases/{case}").text


@pytest.mark.parametrize("value, expected", [
    ("/console/cases/1", "/console/cases/1"), ("/intake", "/intake"), ("//evil.example", "/console"),
    ("https://evil.example/", "/console"), ("/\\evil.example", "/console"), ("javascript:alert(1)", "/console"),
    ("", "/console"), (None, "/console"), ("/ok\nSet-Cookie: x", "/console")])
def test_only_same_site_next_paths(value, expected):
    assert safe_next(value) == expected


def test_bad_query_parameters_are_400_in_chinese(app):
    client, _ = login(app, "super1")
    for query in ("page=0", "per_page=1000", "page=abc", "since=2026-13-01", "queue=nope", "q=" + "字" * 101,
                  "state=flying", "type=闲聊"):
        r = client.get(f"/api/staff/cases?{query}")
        assert r.status_code == 400, (query, r.text)
        assert r.json()["error"]


def test_the_stream_tells_of_changes_in_scope_only(app, container, case):
    import threading

    import httpx

    from tests.web_support import live_server

    other = container.cases.open_case(OpenCase(text="幸福里停水两天了，电话13900001111", category="urban.water_supply",
                                               area="S1P2", actor="chat"))
    with live_server(app) as base, httpx.Client(base_url=base, timeout=10) as http:
        assert http.post("/api/staff/login", json={"username": "envbody", "password": PASSWORD}).status_code == 200
        seen: list[str] = []
        with http.stream("GET", "/api/staff/stream") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.iter_lines()
            while next(lines) != "event: ready":
                pass

            def change() -> None:
                import time

                time.sleep(1.2)         # past the poller's first pass, which learns where it is
                container.cases.act(other.number, "note", actor="cli", text="另一件")
                container.cases.act(case, "accept", actor="cli")

            threading.Thread(target=change, daemon=True).start()
            for line in lines:
                if line.startswith("data: ") and '"number"' in line:
                    seen.append(line)
                    break
        assert len(seen) == 1 and f'"number": "{case}"' in seen[0] and '"action": "accept"' in seen[0]


def test_admins_manage_staff_and_a_reset_ends_the_sessions(app, container):
    agent, _ = login(app, "agent1")
    assert agent.get("/api/staff/staff").status_code == 403
    admin, csrf = login(app, "admin1")
    names = [row["username"] for row in admin.get("/api/staff/staff").json()["staff"]]
    assert {"agent1", "water1", "admin1"} <= set(names)
    assert admin.get("/api/staff/cases?queue=all").json()["total"] == 0     # admins see no cases
    h = {"X-CSRF-Token": csrf}
    weak = admin.post("/api/staff/staff", json={"username": "new1", "role": "operator", "password": "123456"}, headers=h)
    assert weak.status_code == 400 and weak.json()["error"]
    made = admin.post("/api/staff/staff", json={"username": "new1", "role": "operator", "password": PASSWORD,
                                                "name": "李话务"}, headers=h)
    assert made.status_code == 201 and made.json()["staff"]["role_label"] == "话务员"
    reset = admin.post("/api/staff/staff/agent1/reset", json={"password": "另一个长密码-2026-冬"}, headers=h)
    assert reset.status_code == 200
    assert agent.get("/api/staff/me").status_code == 401          # logged out everywhere
    assert admin.post("/api/staff/staff/nobody/disable", headers=h).status_code == 404
    assert admin.post("/api/staff/staff/new1/disable", headers=h).status_code == 200
    refused = TestClient(app).post("/api/staff/login", json={"username": "new1", "password": PASSWORD})
    assert refused.status_code == 401


def test_an_unreachable_session_store_is_a_polite_503(container):
    import redis

    from bot.staff.accounts import StaffService
    from tests.web_support import free_port

    gone = redis.Redis(port=free_port(), socket_timeout=1, socket_connect_timeout=1)
    container.__dict__["staff"] = StaffService(container.engine, container.catalog, redis=gone)
    app = create_app(container, web=web_settings("http://127.0.0.1:9"))
    with TestClient(app) as client:
        for r in (client.post("/api/staff/login", json={"username": "agent1", "password": PASSWORD}),
                  client.get("/api/staff/me", headers={"cookie": f"{COOKIE}={'a' * 43}"})):
            assert r.status_code == 503 and r.headers["retry-after"], r.text
            assert "暂时不可用" in r.json()["error"]


def test_a_merge_only_goes_into_a_case_the_caller_may_see(app, container, case):
    """并单 into another body's case answers like a missing number and changes nothing."""
    other = container.cases.open_case(OpenCase(text="文化路自来水管爆了，水一直往外冒", category="urban.water_supply",
                                               area="S1P1G1", actor="chat"))
    assert other.body["code"] != "B-SthJ"
    client, csrf = login(app, "envbody")
    before = events(container, case)
    into_theirs = act(client, csrf, case, action="merge", to=other.number)
    into_missing = act(client, csrf, case, action="merge", to="20990101-9999")
    assert into_theirs.status_code == into_missing.status_code == 404
    assert into_theirs.json() == into_missing.json()
    assert events(container, case) == before and container.cases.get(case).state == "assigned"
    supervisor, super_csrf = login(app, "super1")
    merged = act(supervisor, super_csrf, case, action="merge", to=other.number)
    assert merged.status_code == 200 and merged.json()["state"] == "merged"
