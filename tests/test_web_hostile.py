"""Hand-written hostile bodies for every web door (the kinds the outside probe found): each
gets a 4xx with a Chinese message in one JSON shape, never a 500, writes nothing, and the
keep-alive connection survives; the intake confirm derives its idempotency key itself; a
database that cannot write gives a polite 503."""
from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter, deque

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from bot.cases import OpenCase
from bot.web.relay import NOT_KEPT_REPLY
from tests.conftest import make_container
from bot.web.sessions import COOKIE
from tests.web_doors import StubGateway, cookie_header, fingerprint, make_app, operator_headers, session_cookie
from tests.web_support import live_server

NOISE = "话务员：您好。\n市民：我是文化路社区的，楼下烧烤店天天吵到凌晨两点。姓王，电话13812345678。"
CJK = re.compile(r"[\u4e00-\u9fff]")
DEEP = b"[" * 10_000 + b"]" * 10_000
DEEP_OBJ = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
HUGE_NUMBER = b'{"ids": [' + b"9" * 5000 + b"]}"


@pytest.fixture
def container(tmp_path):
    c = make_container(f"sqlite:///{tmp_path / 'cases.db'}", tmp_path)
    yield c
    c.engine.dispose()


@pytest.fixture
def gateway():
    return StubGateway()


@pytest.fixture
def app(container, gateway):
    return make_app(container, gateway)


@pytest.fixture
def client(app, container):
    with TestClient(app, raise_server_exceptions=False) as c:
        c.headers.update(cookie_header(app))
        c.headers.update(operator_headers(container))
        yield c


def proposal(client) -> dict:
    r = client.post("/api/intake", content=NOISE.encode(), headers={"content-type": "text/plain"})
    assert r.status_code == 200, r.text
    return r.json()


def assert_refused(response, statuses=(400,)):
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    body = response.json()
    assert set(body) >= {"error", "code"} and CJK.search(body["error"]), body
    assert "Traceback" not in response.text and 'File "' not in response.text


JSON = {"content-type": "application/json"}
CHAT_BODIES = [
    ("deep list", DEEP, 400, "too_deep"),
    ("deep object", DEEP_OBJ, 400, "too_deep"),
    ("depth 33", b'{"text": ' + b"[" * 33 + b"]" * 33 + b"}", 400, "too_deep"),
    ("5000 digits", b'{"text": ' + b"1" * 5000 + b"}", 400, "bad_number"),
    ("huge exponent", b'{"text": 1e999}', 400, "bad_json"),
    ("NaN", b'{"text": NaN}', 400, "bad_json"),
    ("lone surrogate", b'{"text": "\\ud800\xe4\xbd\xa0\xe5\xa5\xbd"}', 400, "bad_chars"),
    ("lone low surrogate in key", b'{"\\udc00": "x", "text": "hi"}', 400, "bad_chars"),
    ("NUL escaped", b'{"text": "\\u0000"}', 400, "bad_chars"),
    ("number for text", b'{"text": 123}', 400, "bad_request"),
    ("list for text", b'{"text": ["a"]}', 400, "bad_request"),
    ("object for text", b'{"text": {"a": 1}}', 400, "bad_request"),
    ("bool for text", b'{"text": true}', 400, "bad_request"),
    ("null body", b"null", 400, "bad_request"),
    ("string body", b'"hello"', 400, "bad_request"),
    ("extra field", b'{"text": "hi", "admin": true}', 400, "bad_request"),
    ("truncated", b'{"text": "hi', 400, "bad_json"),
    ("empty", b"", 400, "bad_json"),
    ("shift-jis bytes", '{"text": "騒音がひどいです"}'.encode("shift_jis"), 400, "bad_encoding"),
    ("latin-1 bytes", '{"text": "café"}'.encode("latin-1"), 400, "bad_encoding"),
    ("encoded surrogate", b'{"text": "\xed\xa0\x80"}', 400, "bad_encoding"),
]


@pytest.mark.parametrize("name, raw, status, code", CHAT_BODIES, ids=[c[0] for c in CHAT_BODIES])
def test_hostile_chat_messages_are_refused_politely(client, container, gateway, name, raw, status, code):
    before = fingerprint(container.engine)
    r = client.post("/api/chat/message", content=raw, headers=JSON)
    assert_refused(r, (status,))
    assert r.json()["code"] == code
    assert gateway.received == [] and fingerprint(container.engine) == before


def test_a_declared_foreign_charset_is_415(client, gateway):
    r = client.post("/api/chat/message", content='{"text": "騒音"}'.encode("shift_jis"),
                    headers={"content-type": "application/json; charset=shift_jis"})
    assert_refused(r, (415,))
    assert "UTF-8" in r.json()["error"] and gateway.received == []
    ok = client.post("/api/chat/message", content='\ufeff{"text": "楼下很吵"}'.encode("utf-8"),
                     headers={"content-type": "application/json; charset=UTF-8"})
    assert ok.status_code == 200 and gateway.received == ["楼下很吵"]


def test_control_characters_are_cleaned_and_emoji_kept(client, gateway):
    r = client.post("/api/chat/message", json={"text": "楼下\u0007很吵\u200b🔥\u202e"})
    assert r.status_code == 200
    assert gateway.received == ["楼下很吵🔥"]


ACK_BODIES = [
    {"ids": [2 ** 64]}, {"ids": [2 ** 63]}, {"ids": [-1]}, {"ids": [0]}, {"ids": [True]},
    {"ids": ["1"]}, {"ids": [1.5]}, {"ids": [[1]]}, {"ids": list(range(1, 502))}, {"ids": 5},
    {}, {"ids": [1], "more": 1}, [1, 2],
]


@pytest.mark.parametrize("body", ACK_BODIES, ids=range(len(ACK_BODIES)))
def test_ack_ids_must_be_63_bit_positive_integers(client, container, body):
    before = fingerprint(container.engine)
    assert_refused(client.post("/api/chat/ack", json=body))
    assert fingerprint(container.engine) == before


def test_ack_at_the_63_bit_edge_is_fine(client):
    r = client.post("/api/chat/ack", json={"ids": [2 ** 63 - 1, 1]})
    assert r.status_code == 200 and r.json() == {"acknowledged": 0}
    assert_refused(client.post("/api/chat/ack", content=HUGE_NUMBER, headers=JSON))


def _confirm_bodies(p: dict) -> list[tuple[str, object]]:
    deep_corrections = json.dumps({"proposal": p, "corrections": {}})[:-1] + ', "x": ' + \
        "[" * 100 + "]" * 100 + "}"
    return [
        ("corrections.text number", {"proposal": p, "corrections": {"text": 123}}),
        ("corrections.area list", {"proposal": p, "corrections": {"area": ["S1P1"]}}),
        ("proposal.key object", {"proposal": {**p, "key": {"a": 1}}, "corrections": {}}),
        ("proposal.text list", {"proposal": {**p, "text": ["x"]}}),
        ("category number", {"proposal": {**p, "category": 7}}),
        ("unknown correction", {"proposal": p, "corrections": {"state": "closed"}}),
        ("3000-char address", {"proposal": p, "corrections": {"address": "长" * 3000}}),
        ("corrections list", {"proposal": p, "corrections": ["x"]}),
        ("proposal string", {"proposal": "x"}),
        ("no proposal", {"corrections": {}}),
        ("too many warnings", {"proposal": {**p, "warnings": ["w"] * 101}}),
        ("phone object", {"proposal": p, "corrections": {"phone": {"n": 1}}}),
        ("deep", deep_corrections),
        ("surrogate in summary", json.dumps({"proposal": {**p, "summary": "\ud800"}})),
    ]


def test_hostile_confirm_bodies_are_refused_and_write_nothing(client, container):
    p = proposal(client)
    before = fingerprint(container.engine)
    for name, body in _confirm_bodies(p):
        raw = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        r = client.post("/api/intake/confirm", content=raw.encode("utf-8", "surrogatepass"),
                        headers=JSON)
        assert_refused(r)
        assert fingerprint(container.engine) == before, name
    r = client.post("/api/intake/confirm", json={"proposal": p, "corrections": {"address": "长" * 3000}})
    assert "地址" in r.json()["error"] and "200" in r.json()["error"]
    assert r.json()["detail"][0]["field"] == "corrections.address"


INTAKE_BODIES = [
    ("deep json", DEEP, "application/json", 400),
    ("5000 digits", b'{"text": ' + b"7" * 5000 + b"}", "application/json", 400),
    ("surrogate", b'{"text": "\\udfff"}', "application/json", 400),
    ("turn is a number", b"[1, 2, 3]", "application/json", 400),
    ("text is a list", b'{"text": [1]}', "application/json", 400),
    ("turns of junk", b'{"turns": [{"speaker": [], "text": {}}]}', "application/json", 400),
    ("shift-jis text", "市民：騒音がひどいです。電話は13812345678です。".encode("shift_jis"), "text/plain", 415),
    ("declared shift-jis", "市民：騒音".encode("shift_jis"), "text/plain; charset=shift_jis", 415),
    ("bad utf-8 declared", b"\xff\xfe\xfd", "text/plain; charset=utf-8", 400),
    ("binary", bytes(range(256)) * 8, "text/plain", 400),
    ("json, not utf-8", '{"text": "市民：吵"}'.encode("gb18030"), "application/json", 400),
]


@pytest.mark.parametrize("name, raw, content_type, status", INTAKE_BODIES, ids=[c[0] for c in INTAKE_BODIES])
def test_hostile_transcripts_are_refused(client, container, name, raw, content_type, status):
    before = fingerprint(container.engine)
    assert_refused(client.post("/api/intake", content=raw, headers={"content-type": content_type}),
                   (status,))
    assert fingerprint(container.engine) == before


def test_declared_gbk_transcript_is_read(client):
    r = client.post("/api/intake", content=NOISE.encode("gbk"),
                    headers={"content-type": "text/plain; charset=GBK"})
    assert r.status_code == 200 and r.json()["phone"] == "13812345678"


def test_oversized_bodies_are_413_before_reading_them_whole(client):
    r = client.post("/api/intake", content=b"a" * (600 * 1024), headers={"content-type": "text/plain"})
    assert_refused(r, (413,))
    r = client.post("/api/chat/ack", content=b'{"ids": [' + b"1," * 40_000 + b"1]}", headers=JSON)
    assert_refused(r, (413,))


# --------------------------------------------------------------------------- idempotency
def test_confirm_ignores_the_clients_key(client, container):
    p = proposal(client)
    first = client.post("/api/intake/confirm", json={"proposal": p})
    assert first.status_code == 200 and first.json()["existing"] is False
    for key in ("intake:forged", "", None, "x" * 200):
        again = client.post("/api/intake/confirm", json={"proposal": {**p, "key": key}, "corrections": {}})
        assert again.status_code == 200, again.text
        assert again.json()["case"]["number"] == first.json()["case"]["number"]
        assert again.json()["existing"] is True
    without = {k: v for k, v in p.items() if k != "key"}
    assert client.post("/api/intake/confirm", json={"proposal": without}).json()["existing"] is True
    assert len(container.cases.list_cases()) == 1
    # another call (other phone) with the first call's key is a case of its own
    other = {**p, "phone": "13900001111", "text": p["text"].replace("13812345678", "13900001111")}
    third = client.post("/api/intake/confirm", json={"proposal": other})
    assert third.json()["existing"] is False
    assert third.json()["case"]["number"] != first.json()["case"]["number"]


def test_the_key_needs_the_server_secret(container):
    from bot.intake.service import content_key

    p = {"text": "楼下烧烤店很吵", "phone": "13812345678"}
    assert content_key(p, b"a") == content_key({**p, "text": " 楼下烧烤店\n很吵 "}, b"a")
    assert content_key(p, b"a") != content_key(p, b"b")
    assert content_key(p, b"a") != content_key({**p, "phone": "13812345679"}, b"a")


# --------------------------------------------------------------------------- keep-alive
def test_connection_survives_refusals_and_a_crash(container, gateway):
    app = make_app(container, gateway)

    @app.get("/boom-for-test")
    async def boom():
        raise RuntimeError("a bug")

    with live_server(app) as base, httpx.Client(
            base_url=base, headers={**cookie_header(app), **operator_headers(container)}, timeout=10) as http:
        def port_of(response) -> int:
            return response.extensions["network_stream"].get_extra_info("client_addr")[1]

        first = http.get("/api/chat/session")
        port = port_of(first)
        answers = [
            http.post("/api/chat/message", content=DEEP, headers=JSON),
            http.post("/api/chat/ack", content=HUGE_NUMBER, headers=JSON),
            http.post("/api/intake", content=DEEP, headers=JSON),
            http.get("/boom-for-test"),
            http.post("/api/chat/message", content=b'{"text": "\\ud800"}', headers=JSON),
            http.post("/api/intake/confirm", json={"proposal": {"text": 1}}),
        ]
        assert [a.status_code for a in answers] == [400, 400, 400, 500, 400, 400]
        assert answers[3].json()["code"] == "internal" and "Traceback" not in answers[3].text
        ok = http.post("/api/chat/message", json={"text": "楼下很吵"})
        assert ok.status_code == 200
        assert {port_of(a) for a in answers + [ok]} == {port}, "the connection was dropped"
        assert all(a.headers.get("connection", "").lower() != "close" for a in answers)


# --------------------------------------------------------------------------- database errors
def _read_only(container, tmp_path):
    """The same store opened read-only (as with immutable files): reads work, writes fail."""
    path = tmp_path / "cases.db"
    engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(
        f"file:{path}?mode=ro", uri=True, check_same_thread=False))
    from bot.container import Container

    ro = Container(container.settings)
    ro.__dict__["engine"] = engine
    return ro


def test_a_read_only_database_gives_every_door_a_polite_503(container, tmp_path):
    view = container.cases.open_case(OpenCase(text="楼下烧烤店很吵", category="env.noise", area="S1P1G1",
                                              contact="13812345678"))
    ro = _read_only(container, tmp_path)
    gateway = StubGateway(mode="down")
    operator = operator_headers(container)                    # noted while the store is writable
    app = make_app(ro, gateway)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers.update(cookie_header(app))
        client.headers.update(operator)
        p = proposal(client)                                    # reading still works
        r = client.post("/api/intake/confirm", json={"proposal": p})
        assert_refused(r, (503,))
        assert r.json()["code"] == "unavailable" and r.headers["retry-after"]
        assert "没有登记" in r.json()["error"]
        for text in ("楼下还是很吵", "晚上十点以后最吵"):              # Rasa down as well
            r = client.post("/api/chat/message", json={"text": text})
            assert r.status_code == 202 and r.json()["queued"] is True
        relay = app.state.chat.relay
        assert [row["text"] for row in relay.spill] == ["楼下还是很吵", "晚上十点以后最吵"]
        assert client.portal.call(relay.retry_once) == 0           # still read-only: still kept
        relay.spill_limit = 2
        r = client.post("/api/chat/message", json={"text": "第三条"})
        assert_refused(r, (503,))
        assert r.json()["error"] == NOT_KEPT_REPLY                # honest when it cannot keep it
        assert client.post("/api/chat/ack", json={"ids": [1]}).status_code == 503
        assert client.get("/api/chat/cases").status_code == 200
        assert [c.number for c in container.cases.list_cases()] == [view.number]

        # the database is back: the kept messages reach webchat_pending, then Rasa, in order
        relay.store.engine = app.state.chat.store.engine = container.engine
        gateway.mode = "up"

        async def not_in_tracker(session, message_id):     # the stand-in keeps no tracker
            return None

        relay._already_answered = not_in_tracker
        client.portal.call(relay.retry_once)
        assert relay.spill == deque() and app.state.chat.store.pending_counts() == {"pending": 2}
        for _ in range(2):
            _make_due(container)
            client.portal.call(relay.retry_once)
        assert gateway.received == ["楼下还是很吵", "晚上十点以后最吵"]
        assert app.state.chat.store.pending_counts() == {"done": 2}


def _make_due(container):
    from datetime import timedelta

    from sqlalchemy import update

    from bot.web.store import pending, utcnow

    with container.engine.begin() as conn:
        conn.execute(update(pending).values(next_attempt_at=utcnow() - timedelta(seconds=1)))


def test_rasa_keeps_the_words_when_the_database_cannot(container, tmp_path):
    gateway = StubGateway()
    app = make_app(_read_only(container, tmp_path), gateway)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers.update(cookie_header(app))
        r = client.post("/api/chat/message", json={"text": "楼下还是很吵"})
        assert r.status_code == 200 and gateway.received == ["楼下还是很吵"]


def test_a_database_that_is_gone_gives_503_not_500(container, tmp_path):
    gone = create_engine("sqlite://", creator=lambda: sqlite3.connect(
        f"file:{tmp_path / 'missing' / 'no.db'}?mode=ro", uri=True, check_same_thread=False))
    from bot.container import Container

    dead = Container(container.settings)
    dead.__dict__["engine"] = gone
    dead.__dict__["catalog"] = container.catalog
    app = make_app(dead, StubGateway(mode="down"))
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers.update(cookie_header(app))
        client.headers["authorization"] = "Bearer jjst_" + "a" * 43   # its lookup meets the gone store
        for method, path, body in (("GET", "/api/chat/cases", None), ("GET", "/api/chat/updates", None),
                                   ("POST", "/api/chat/ack", {"ids": [1]}),
                                   ("POST", "/api/intake", None)):
            if path == "/api/intake":
                r = client.post(path, content=NOISE.encode(), headers={"content-type": "text/plain"})
            else:
                r = client.request(method, path, json=body)
            assert_refused(r, (503,))
        r = client.post("/api/chat/message", json={"text": "楼下很吵"})
        assert r.status_code == 202 and [m["text"] for m in app.state.chat.relay.spill] == ["楼下很吵"]


# --------------------------------------------------------------------------- every field × every hostile value
HOSTILE_VALUES = [
    None, True, False, 0, -1, 2 ** 63, 2 ** 64, -(2 ** 63) - 1, 1.5, 1e308, -0.0, "", " ", "\n\t",
    "\u0000", "\ud800", "\udfff\ud800", "\u202e反转", "\u200b", "\x07\x1b[31m", "🔥" * 50,
    "長" * 6000, "a" * 70_000, "<script>alert(1)</script>", "'; DROP TABLE cases; --",
    "{0}{1}%s%n", "../../etc/passwd", "１３８１２３４５６７８", "138123456789012", "S1P1",
    "env.noise", "emergency", [], [1, 2], ["x"] * 600, {}, {"a": {"b": {"c": 1}}},
    json.loads("[" * 30 + "]" * 30),
]


def _hostile_bodies(base: dict, fields: list[str]):
    for field in fields:
        for value in HOSTILE_VALUES:
            body = json.loads(json.dumps(base))
            target, *rest = field.split(".")
            if rest:
                if not isinstance(body.get(target), dict):
                    body[target] = {}
                body[target][rest[0]] = value
            else:
                body[target] = value
            yield field, body


def _send(client, path: str, body) -> httpx.Response:
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return client.post(path, content=raw, headers=JSON)


def _probe(client, container, path: str, bodies) -> tuple[int, list[str]]:
    failures, statuses = [], Counter()
    for field, body in bodies:
        before = fingerprint(container.engine)
        r = _send(client, path, body)
        statuses[r.status_code] += 1
        text = r.text
        if r.status_code >= 500 or "Traceback" in text or "sqlalchemy" in text:
            failures.append(f"{field}: {r.status_code} {text[:120]}")
        elif r.status_code >= 400:
            answer = r.json()
            if not (CJK.search(answer.get("error", "")) and answer.get("code")):
                failures.append(f"{field}: bad error shape {answer}")
            if fingerprint(container.engine) != before:
                failures.append(f"{field}: a {r.status_code} wrote to the database")
    print(f"\n{path}: {dict(statuses)}")
    return sum(statuses.values()), failures


def test_every_chat_field_against_every_hostile_value(client, container):
    count, failures = _probe(client, container, "/api/chat/message",
                             _hostile_bodies({"text": "楼下很吵"}, ["text", "extra"]))
    more, failures2 = _probe(client, container, "/api/chat/ack",
                             _hostile_bodies({"ids": [1]}, ["ids", "extra"]))
    print(f"\nchat hostile inputs: {count + more}")
    assert failures + failures2 == []


def test_every_intake_field_against_every_hostile_value(client, container):
    p = proposal(client)
    fields = ["proposal." + f for f in ("summary", "text", "category", "kind", "area", "phone", "name",
                                        "place", "urgency", "referral", "key", "duplicates", "warnings")]
    fields += ["corrections." + f for f in ("summary", "text", "category", "kind", "area", "address",
                                            "phone", "name", "referral", "merge_into", "urgency", "bogus")]
    count, failures = _probe(client, container, "/api/intake/confirm", _confirm_variants(p, fields))
    transcripts, failures2 = _probe(client, container, "/api/intake",
                                    _hostile_bodies({"text": NOISE}, ["text", "turns", "id", "phone"]))
    print(f"\nintake hostile inputs: {count + transcripts}")
    assert failures + failures2 == []


def _confirm_variants(p: dict, fields: list[str]):
    """Each field of a real proposal (or of the corrections) replaced by each hostile value."""
    for n, (field, body) in enumerate(_hostile_bodies({"proposal": {}, "corrections": {}}, fields)):
        # another call each time, so that a correction is not answered by an earlier case
        fresh = {**p, "text": f"{p['text']}（第{n}通）"}
        body["proposal"] = {**fresh, **body["proposal"]} if field.startswith("proposal.") else fresh
        yield field, body


# --------------------------------------------------------------------------- what the page sends
def _page_corrections(p: dict) -> dict:
    """The corrections object exactly as static/intake.js builds it from the form."""
    return {"summary": p["summary"], "category": p["category"]["code"], "area": p["area"],
            "address": (p.get("place") or {}).get("address") or "", "phone": p["phone"],
            "name": p["name"], "text": p["text"],
            "urgency": {"level": p["urgency"]["level"], "hotline": p["urgency"].get("hotline")},
            "referral": p["referral"] if p["urgency"]["level"] == "emergency" else None,
            "merge_into": None}


def test_every_real_form_transcript_round_trips_through_the_typed_bodies(client):
    """What `POST /api/intake` answers must be accepted back by the confirm's request model:
    a refusal may only come from the case rules (no phone, …), never from the body's bounds."""
    from tests.intake_eval import DATA

    paths = sorted(DATA.glob("*.txt"))
    assert len(paths) >= 20
    refused = []
    for path in paths:
        r = client.post("/api/intake", content=path.read_bytes(), headers={"content-type": "text/plain"})
        if r.status_code != 200:
            continue
        p = r.json()
        answer = client.post("/api/intake/confirm", json={"proposal": p, "corrections": _page_corrections(p)})
        if answer.status_code != 200:
            assert answer.status_code == 400 and answer.json()["code"] == "invalid", (path.name, answer.text)
            refused.append(path.name)
    assert len(refused) < len(paths) / 2, refused


# --------------------------------------------------------------------------- headers, paths, cookies
def test_hostile_headers_paths_and_cookies(app, container):
    operator = operator_headers(container)
    before = fingerprint(container.engine)
    with TestClient(app, raise_server_exceptions=False) as anonymous:
        answers = {
            "utf-16 declared": anonymous.post("/api/intake/confirm", content=b"{}", headers={
                "content-type": "application/json; charset=utf-16", **operator}),
            "jsonp": anonymous.post("/api/chat/message", content=b'{"text":"x"}',
                                    headers={"content-type": "application/jsonp"}),
            "no content type": anonymous.post("/api/intake/confirm", content=b'{"proposal": {}}',
                                              headers=operator),
            "multipart": anonymous.post("/api/intake/confirm", files={"f": ("a.json", b"{}")},
                                        headers=operator),
            "intake without a login": anonymous.post("/api/intake/confirm", json={"proposal": {}}),
            "events without session": anonymous.get("/api/chat/events"),
            "garbage cookie": anonymous.get("/api/chat/cases", headers={"cookie": ("jj_chat=" + "é" * 5000).encode()}),
            "cookie with NUL escape": anonymous.get("/api/chat/updates", headers={"cookie": "jj_chat=%00"}),
            "NUL in path": anonymous.get("/api/chat/cases/%00"),
            "surrogate in path": anonymous.get("/api/chat/cases/%ED%A0%80"),
            "long path": anonymous.get("/api/chat/cases/" + "9" * 5000),
            "wrong method": anonymous.put("/api/intake/confirm", json={}),
        }
    expected = {"utf-16 declared": 415, "jsonp": 415, "no content type": 415, "multipart": 415,
                "intake without a login": 401, "events without session": 401, "garbage cookie": 401, "cookie with NUL escape": 401,
                "NUL in path": 401, "surrogate in path": 401, "long path": 401, "wrong method": 405}
    assert {k: r.status_code for k, r in answers.items()} == expected
    for response in answers.values():
        assert_refused(response, (response.status_code,))
    assert fingerprint(container.engine) == before


def test_hostile_paths_with_a_session_are_404(client):
    for number in ("%00", "%ED%A0%80", "9" * 5000, "..%2F..%2Fetc%2Fpasswd", "' OR 1=1 --"):
        assert_refused(client.get(f"/api/chat/cases/{number}"), (404,))


def test_a_non_ascii_or_forged_api_token_is_refused_not_a_crash(client):
    for value in ("Bearer 秘密".encode(), b"Bearer jjst_" + b"A" * 8000, b"Bearer ../../etc/passwd",
                  b"Basic Zm9vOmJhcg==", b"Bearer "):
        r = client.post("/api/intake", content=NOISE.encode(),
                        headers={"authorization": value, "content-type": "text/plain"})
        assert_refused(r, (401,))


def test_which_database_errors_are_outages(tmp_path):
    """Locked, read-only and gone are outages (503); a constraint violation is a bug (500)."""
    from sqlalchemy import exc as sa_exc
    from sqlalchemy import text as sql

    from bot.web.errors import is_database_unavailable

    path = tmp_path / "lock.db"
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.1})
    with engine.begin() as conn:
        conn.execute(sql("create table t (id integer primary key)"))
    holder = sqlite3.connect(path)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(sa_exc.OperationalError) as locked:
            with engine.begin() as conn:
                conn.execute(sql("insert into t values (1)"))
    finally:
        holder.rollback()
        holder.close()
    assert "locked" in str(locked.value) and is_database_unavailable(locked.value)
    with engine.begin() as conn:
        conn.execute(sql("insert into t values (1)"))
    with pytest.raises(sa_exc.IntegrityError) as duplicate:
        with engine.begin() as conn:
            conn.execute(sql("insert into t values (1)"))
    assert not is_database_unavailable(duplicate.value)
    engine.dispose()


def test_the_event_stream_starts_without_the_inbox_when_the_database_is_gone(container, tmp_path):
    gone = create_engine("sqlite://", creator=lambda: sqlite3.connect(
        f"file:{tmp_path / 'missing' / 'no.db'}?mode=ro", uri=True, check_same_thread=False))
    app = make_app(container)
    app.state.chat.store.engine = gone
    cookie = session_cookie(app)
    sid = app.state.chat.tokens.verify(cookie)
    with live_server(app) as base, httpx.Client(base_url=base, timeout=10,
                                                headers={"cookie": f"{COOKIE}={cookie}"}) as http:
        with http.stream("GET", "/api/chat/events") as stream:
            assert stream.status_code == 200
            lines = stream.iter_lines()
            assert next(lines) == "retry: 2000"
            app.state.chat.hub.publish(sid, {"id": 7, "kind": "update", "text": "您的诉求已签收"})
            received = [next(lines) for _ in range(3)]
    assert received[:2] == ["", "id: 7"] or received[:2] == ["id: 7", "event: update"], received


@pytest.mark.parametrize("raw", [
    '"' + '\\"' * 250_000,                   # an unterminated string of escaped quotes
    '["' + '\\"' * 250_000 + '"]',
    '"' + "[" * 500_000 + '"',               # brackets inside a string are not nesting
    "[" + ",".join(["1"] * 250_000) + "]",
], ids=["escaped-quotes", "escaped-quotes-closed", "brackets-in-string", "many-numbers"])
def test_large_hostile_json_is_answered_quickly(client, raw):
    import time

    started = time.monotonic()
    r = client.post("/api/intake", content=raw.encode(), headers=JSON)
    assert r.status_code < 500 and time.monotonic() - started < 5


def test_bot_intake_and_the_web_page_share_one_key(container, tmp_path):
    """A call imported with `bot intake` and then confirmed on the page is one case: both
    services take the secret from the same var/intake.key."""
    from bot.intake.reader import read_text
    from bot.intake.service import IntakeService
    from bot.nlu import KeywordClassifier

    classifier = KeywordClassifier(container.catalog)
    cli = IntakeService.from_container(container, classifier=classifier)
    web = IntakeService.from_container(container, classifier=classifier, actor="operator")
    assert cli.secret == web.secret and len(cli.secret) >= 32
    assert (container.settings.var_dir / "intake.key").is_file()
    imported, _ = cli.confirm(cli.propose(read_text(NOISE)))
    p = web.propose(read_text(NOISE))
    assert any(imported.number in w for w in p.warnings)       # "这通电话已导入过，编号 …"
    again, existing = web.confirm(p)
    assert existing and again.number == imported.number
