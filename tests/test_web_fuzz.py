"""Schemathesis against the app's own OpenAPI schema, in-process (ASGI), on a real SQLite store.

Every operation of the schema gets generated bodies, parameters and headers (valid and
invalid by the schema). Asserted on each: no 5xx, no traceback or Python file path in the
answer, a JSON error in the one shape on every 4xx, and nothing written on a 4xx (a digest of
every table before and after). The normal run keeps the example count low (FUZZ_EXAMPLES,
default 15 per operation, well under a minute); `make fuzz` runs many more.

Left out of the generated run: `/api/chat/events` and `/api/staff/stream` (endless SSE
streams; tested by the hostile and console suites) and `/healthz` (its 503 when Rasa is down is
its contract). Every other case carries a chat session and an operator's API token, so the
fuzz reaches past the session checks of the chat and the intake door.
"""
from __future__ import annotations

import os
import re
from collections import Counter

import pytest
import schemathesis
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.conftest import make_container
from tests.web_doors import StubGateway, fingerprint, make_app, operator_headers, session_cookie
from bot.web.sessions import COOKIE

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
NOT_FUZZED = ("/api/chat/events", "/api/staff/stream", "/healthz")
# A refused login is counted for the lockout: that row is the refusal's purpose.
MAY_WRITE_ON_REFUSAL = {"/api/staff/login": ("login_failures",)}
LEAK = re.compile(r"Traceback|File \"|sqlalchemy\.|sqlite3\.|RecursionError|OverflowError")


@pytest.fixture
def fuzz_app(tmp_path):
    container = make_container(f"sqlite:///{tmp_path / 'cases.db'}", tmp_path)
    app = make_app(container, StubGateway())
    app.state.fuzz_operator = operator_headers(container)
    yield app
    container.engine.dispose()


def operations(app):
    loaded = schemathesis.openapi.from_dict(app.openapi())
    loaded.app = app
    found = [result.ok() for result in loaded.get_all_operations()]
    return [op for op in found if op.path not in NOT_FUZZED]


# Bodies valid by the schema that the server must accept (with a session): the schema and
# the request models say the same thing.
MUST_ACCEPT = {"/api/chat/ack": {200}, "/api/chat/message": {200, 202}}
# …except the refusals that the schema cannot express (blank text, markup, NUL, unprintable).
MAY_REFUSE = {"/api/chat/message": {"empty", "markup", "invalid", "bad_chars"}}


def check(app, case, positive: bool = False) -> int:
    engine = app.state.container.engine
    skip = MAY_WRITE_ON_REFUSAL.get(case.path, ())
    before = fingerprint(engine, skip)
    # Every other case carries a valid session, so the fuzz reaches past the session check.
    cookies = {COOKIE: session_cookie(app)} if len(repr(case.body)) % 2 == 0 else None
    headers = app.state.fuzz_operator if cookies else None
    response = case.call(cookies=cookies, headers=headers)
    where = f"{case.method} {case.formatted_path}"
    assert response.status_code < 500, (where, response.status_code, response.text[:500])
    assert not LEAK.search(response.text), (where, response.text[:500])
    if positive and cookies and case.path in MUST_ACCEPT and \
            response.json().get("code") not in MAY_REFUSE.get(case.path, ()):
        assert response.status_code in MUST_ACCEPT[case.path], (where, case.body, response.text[:300])
    if 400 <= response.status_code < 500:
        body = response.json()
        assert isinstance(body.get("error"), str) and re.search(r"[\u4e00-\u9fff]", body["error"]), \
            (where, body)
        assert isinstance(body.get("code"), str), (where, body)
        assert fingerprint(engine, skip) == before, f"{where}: a {response.status_code} wrote to the database"
    return response.status_code


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_5xx_no_leak_nothing_written_on_refusal(fuzz_app, mode):
    ops = operations(fuzz_app)
    assert {op.path for op in ops} >= {"/api/chat/message", "/api/chat/ack", "/api/intake",
                                       "/api/intake/confirm"}
    if mode == GenerationMode.NEGATIVE:      # an operation without inputs has no invalid form
        ops = [op for op in ops if op.method.upper() == "POST" or "{" in op.path]
    statuses: list[tuple[str, int]] = []
    unsatisfiable: list[str] = []
    for op in ops:
        @given(case=op.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  derandomize=not os.environ.get("FUZZ_RANDOM"),
                  suppress_health_check=list(HealthCheck))
        def run(case):
            statuses.append((f"{op.method.upper()} {op.path}",
                             check(fuzz_app, case, mode == GenerationMode.POSITIVE)))

        try:
            run()
        except Unsatisfiable:      # e.g. a free-text path parameter: nothing is invalid
            unsatisfiable.append(op.path)
    assert not {"/api/chat/message", "/api/chat/ack", "/api/intake", "/api/intake/confirm"} & \
        set(unsatisfiable)
    print(f"\nfuzz {mode.value}: {len(statuses)} requests;", dict(Counter(s for _, s in statuses)),
          "accepted:", dict(Counter(op for op, s in statuses if s < 300)))


def api_routes(routes):
    """Every APIRoute, also inside included routers (FastAPI ≥ 0.16x keeps them nested)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)


def test_every_route_is_in_the_schema_with_its_typed_body(fuzz_app):
    spec = fuzz_app.openapi()
    routes = [r for r in api_routes(fuzz_app.routes) if r.include_in_schema]
    assert len(routes) >= 10
    for route in routes:
        for method in route.methods - {"HEAD"}:
            operation = spec["paths"][route.path_format][method.lower()]
            if method == "POST":
                content = operation["requestBody"]["content"]
                assert "application/json" in content, route.path
                ref = content["application/json"]["schema"]
                name = (ref.get("$ref") or ref["anyOf"][0]["$ref"]).rsplit("/", 1)[1]
                assert spec["components"]["schemas"][name]["properties"], route.path
    ack = spec["components"]["schemas"]["Ack"]["properties"]["ids"]
    assert ack["maxItems"] == 500 and ack["items"]["maximum"] == 2 ** 63 - 1


# --------------------------------------------------------------------------- the decoder itself
from hypothesis import strategies as st  # noqa: E402

from bot.web import jsonsafe  # noqa: E402
from bot.web.errors import WebError  # noqa: E402

_leaf = st.none() | st.booleans() | st.integers(-(2 ** 70), 2 ** 70) | \
    st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
_json = st.recursive(_leaf, lambda inner: st.lists(inner, max_size=4) |
                     st.dictionaries(st.text(max_size=5), inner, max_size=4), max_leaves=40)


@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")))
@settings(max_examples=EXAMPLES * 20, deadline=None, database=None, derandomize=not os.environ.get("FUZZ_RANDOM"))
def test_any_bytes_give_a_value_or_a_refusal(raw):
    try:
        jsonsafe.loads(jsonsafe.decode_utf8(raw, "application/json"))
    except WebError as exc:
        assert 400 <= exc.status < 500 and re.search(r"[\u4e00-\u9fff]", exc.zh)


@given(value=_json)
@settings(max_examples=EXAMPLES * 20, deadline=None, database=None, derandomize=not os.environ.get("FUZZ_RANDOM"))
def test_ordinary_json_round_trips_unless_it_breaks_a_bound(value):
    import json

    text = json.dumps(value, ensure_ascii=bool(len(repr(value)) % 2))
    try:
        assert jsonsafe.loads(text) == json.loads(text)
    except WebError as exc:
        assert exc.code in ("bad_number", "bad_chars"), exc.code
