"""Staff accounts against the real stores: passwords, lockout, sessions, tokens, TOTP.

Every test runs on SQLite and PostgreSQL (the `container` fixture); those about sessions and
the lockout also with Redis keeping them (the real server of TEST_REDIS_URL).
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta, timezone

import pyotp
import pytest
from sqlalchemy import select

from bot.staff.accounts import Login, StaffService
from bot.staff.errors import StaffError
from bot.staff.models import login_failures, staff_accounts, staff_sessions, staff_tokens
from bot.staff.passwords import Passwords, check_strength
from bot.staff.principal import Role, Staff
from bot.staff.sessions import DatabaseSessions, RedisSessions
from tests.conftest import make_container
from tests.web_support import free_port, redis_url_or_skip

GOOD = "长密码-不常见-2026"
OTHER = "另一个-足够长的口令-7391"
AGENT = "A-C"            # an agent code of data/county
BODY = "B-CGJ"           # a body code of data/county/bodies.yml


def fast() -> Passwords:
    """Argon2id with small parameters: the same code path, a fraction of the CPU."""
    return Passwords(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(params=["database", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request):
    """None for the database, or a Redis client with a prefix of its own (removed after)."""
    if request.param == "database":
        yield None
        return
    import redis

    client = redis.Redis.from_url(redis_url_or_skip())
    prefix = f"jj:test:{uuid.uuid4().hex[:8]}:"
    yield client, prefix
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def make_service(container, clock, backend, **kwargs) -> StaffService:
    redis_args = {"redis": backend[0], "redis_prefix": backend[1]} if backend else {}
    return StaffService(container.engine, container.catalog, clock=clock,
                        passwords=kwargs.pop("passwords", None) or fast(), **redis_args, **kwargs)


@pytest.fixture
def staff(container, clock, backend) -> StaffService:
    return make_service(container, clock, backend)


@pytest.fixture
def db_staff(container, clock) -> StaffService:
    return make_service(container, clock, None)


def refused(call, *args, **kwargs) -> StaffError:
    with pytest.raises(StaffError) as info:
        call(*args, **kwargs)
    return info.value


# ---------------------------------------------------------------------- passwords
def test_passwords_are_argon2id_hashes_and_verify_only_the_right_one():
    passwords = Passwords()
    stored = passwords.hash(GOOD)
    assert stored.startswith("$argon2id$") and GOOD not in stored
    assert passwords.hash(GOOD) != stored                       # salted
    assert passwords.verify(stored, GOOD)
    assert not passwords.verify(stored, GOOD + "x")
    assert not passwords.verify("not a hash", GOOD)
    assert not passwords.needs_rehash(stored)
    assert Passwords(time_cost=passwords._hasher.time_cost + 1).needs_rehash(stored)


@pytest.mark.parametrize("password, reason", [
    ("", "不能为空"),
    ("短密码-123", "至少需要 10 个字符"),
    ("password1234", "常见的密码"),
    ("1234567890", "常见的密码"),
    ("qwertyuiop", "常见的密码"),
    ("asdfghjkl;'", "键盘"),
    ("abcdefghijkl", "连续的字母或数字"),
    ("aaaaaaaaaaaa", "重复"),
    ("wangxiaoming1", "用户名或姓名"),
    ("换行\n也不行-很长的密码", "控制字符"),
    ("x" * 129, "最多 128 个字符"),
])
def test_weak_short_and_common_passwords_are_refused_with_a_chinese_reason(password, reason):
    error = refused(check_strength, password, ["wangxiaoming"])
    assert error.code == "weak_password" and error.status == 400
    assert reason in error.zh and error.zh.startswith("密码不符合要求")


@pytest.mark.parametrize("password", [GOOD, OTHER, "Tr0ub4dor&3x-horse", "correct horse battery"])
def test_long_uncommon_passwords_pass(password):
    check_strength(password, ["agent1"])


def test_a_weak_password_adds_no_account(db_staff):
    assert refused(db_staff.add, "agent1", "agent", "password1234", agent_code=AGENT).code == "weak_password"
    assert db_staff.get("agent1") is None and db_staff.list() == []


def test_login_rehashes_when_the_parameters_changed(container, clock):
    old = make_service(container, clock, None, passwords=Passwords(time_cost=1, memory_cost=1024,
                                                                      parallelism=1))
    old.add("sup1", "supervisor", GOOD)
    newer = make_service(container, clock, None, passwords=Passwords(time_cost=2, memory_cost=2048,
                                                                        parallelism=1))
    newer.login("sup1", GOOD, address="10.0.0.1")
    with container.engine.connect() as conn:
        stored = conn.execute(select(staff_accounts.c.password_hash)).scalar_one()
    assert "m=2048,t=2,p=1" in stored
    assert newer.login("sup1", GOOD, address="10.0.0.1").staff.username == "sup1"


# ---------------------------------------------------------------------- accounts
def test_add_get_list_and_the_ties_to_the_catalog(db_staff):
    agent = db_staff.add("Agent1", "agent", GOOD, name="周建国", agent_code=AGENT)
    assert agent == Staff(agent.id, "agent1", Role.AGENT, "周建国", AGENT, None)
    body = db_staff.add("body.cgj-1", "body", GOOD, body_code=BODY)
    assert db_staff.get("AGENT1") == agent and db_staff.by_id(body.id) == body
    assert db_staff.get("nobody") is None and db_staff.by_id(9999) is None
    rows = db_staff.list()
    assert [r["username"] for r in rows] == ["agent1", "body.cgj-1"]
    assert rows[0] == {**agent.to_dict(), "id": agent.id, "disabled": False, "totp": False,
                       "created_at": rows[0]["created_at"],
                       "password_changed_at": rows[0]["password_changed_at"]}
    assert not any("hash" in key or "secret" in key for key in rows[0])


@pytest.mark.parametrize("username, role, ties, code", [
    ("ab", "agent", {"agent_code": AGENT}, "bad_username"),
    ("a" * 33, "agent", {"agent_code": AGENT}, "bad_username"),
    ("王小明", "agent", {"agent_code": AGENT}, "bad_username"),
    ("a b c", "agent", {"agent_code": AGENT}, "bad_username"),
    ("agent2", "boss", {}, "bad_role"),
    ("agent2", "agent", {}, "unknown_agent"),
    ("agent2", "agent", {"agent_code": "NOPE"}, "unknown_agent"),
    ("body2", "body", {"body_code": "NOPE"}, "unknown_body"),
    ("body2", "body", {}, "unknown_body"),
    ("op2", "operator", {"agent_code": AGENT}, "invalid_input"),
    ("op2", "supervisor", {"body_code": BODY}, "invalid_input"),
])
def test_add_refuses_bad_usernames_roles_and_ties(db_staff, username, role, ties, code):
    error = refused(db_staff.add, username, role, GOOD, **ties)
    assert error.code == code and error.status == 400 and error.zh
    assert db_staff.list() == []


def test_a_username_is_taken_whatever_its_case(db_staff):
    db_staff.add("op1", "operator", GOOD)
    error = refused(db_staff.add, "OP1", "operator", OTHER)
    assert (error.code, error.status) == ("username_taken", 409) and "已被使用" in error.zh


def test_unknown_accounts_are_refused_by_name(db_staff):
    for call in (db_staff.disable, db_staff.revoke_tokens, db_staff.create_token, db_staff.enable_totp):
        assert refused(call, "ghost").code == "unknown_staff"
    assert refused(db_staff.reset_password, "ghost", GOOD).status == 404


# ---------------------------------------------------------------------- lockout
def lock_for(backend) -> int:
    """Redis keeps its own time, so its locks are made short and waited out for real."""
    return 2 if backend else 900


def wait_out(clock, backend, seconds: int) -> None:
    clock.advance(seconds=seconds + 1)
    if backend:
        time.sleep(seconds + 0.2)


def test_five_wrong_passwords_lock_the_user_for_15_minutes(container, clock, backend):
    staff = make_service(container, clock, backend, lock_seconds=lock_for(backend))
    staff.add("agent1", "agent", GOOD, agent_code=AGENT)
    for attempt in range(4):
        error = refused(staff.login, "agent1", "wrong password!", address=f"10.0.1.{attempt}")
        assert (error.code, error.status) == ("bad_credentials", 401)
    error = refused(staff.login, "agent1", "wrong password!", address="10.0.1.9")
    assert (error.code, error.status) == ("locked", 423) and 0 < error.retry_after <= lock_for(backend)
    right = refused(staff.login, "agent1", GOOD, address="10.0.2.1")    # even the right one
    assert right.code == "locked"
    wait_out(clock, backend, lock_for(backend))
    assert staff.login("agent1", GOOD, address="10.0.2.1").staff.username == "agent1"


def test_the_lock_message_says_how_many_minutes(staff):
    staff.add("agent1", "agent", GOOD, agent_code=AGENT)
    for _ in range(4):
        refused(staff.login, "agent1", "wrong password!", address="10.0.0.1")
    error = refused(staff.login, "agent1", "wrong password!", address="10.0.0.1")
    assert error.retry_after in (899, 900) and "15 分钟后再试" in error.zh


def test_five_failures_from_one_address_lock_that_address(container, clock, backend):
    staff = make_service(container, clock, backend, lock_seconds=lock_for(backend))
    staff.add("agent1", "agent", GOOD, agent_code=AGENT)
    for name in ("ghost1", "ghost2", "ghost3", "ghost4"):          # unknown users count too
        assert refused(staff.login, name, "wrong password!", address="10.9.9.9").code == "bad_credentials"
    assert refused(staff.login, "ghost5", "x", address="10.9.9.9").code == "locked"
    assert refused(staff.login, "agent1", GOOD, address="10.9.9.9").code == "locked"
    assert staff.login("agent1", GOOD, address="10.9.9.10").staff.username == "agent1"
    # that success cleared the user's count, not the address's
    assert refused(staff.login, "agent1", GOOD, address="10.9.9.9").code == "locked"
    wait_out(clock, backend, lock_for(backend))
    staff.login("agent1", GOOD, address="10.9.9.9")


def test_a_success_clears_the_user_count(staff):
    staff.add("agent1", "agent", GOOD, agent_code=AGENT)
    for attempt in range(4):
        refused(staff.login, "agent1", "wrong password!", address=f"10.0.3.{attempt}")
    staff.login("agent1", GOOD, address="10.0.4.1")
    for attempt in range(4):
        assert refused(staff.login, "agent1", "wrong password!",
                       address=f"10.0.5.{attempt}").code == "bad_credentials"


def test_failures_older_than_the_window_are_forgotten(db_staff, clock):
    db_staff.add("agent1", "agent", GOOD, agent_code=AGENT)
    for attempt in range(4):
        refused(db_staff.login, "agent1", "wrong password!", address=f"10.0.6.{attempt}")
    clock.advance(minutes=16)
    assert refused(db_staff.login, "agent1", "wrong password!", address="10.0.7.1").code == "bad_credentials"


class CountingPasswords(Passwords):
    """Counts the Argon2 verifications (a dummy one for unknown users goes through here too)."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified = 0

    def verify(self, stored: str, password: str) -> bool:
        self.verified += 1
        return super().verify(stored, password)


def test_an_unknown_user_gets_the_same_answer_after_the_same_work(container, clock):
    passwords = CountingPasswords()
    staff = make_service(container, clock, None, passwords=passwords)
    staff.add("agent1", "agent", GOOD, agent_code=AGENT)
    staff.disable(staff.add("agent2", "agent", GOOD, agent_code=AGENT).username)
    answers = []
    for name, password in (("agent1", "wrong password!"), ("nobody", "wrong password!"),
                           ("bad name!", GOOD), ("agent2", GOOD)):
        before = passwords.verified
        error = refused(staff.login, name, password, address=f"10.1.0.{len(answers)}")
        answers.append((error.code, error.status, error.zh, passwords.verified - before))
    assert len(set(answers)) == 1, answers
    assert answers[0][:2] == ("bad_credentials", 401) and answers[0][3] == 1


# ---------------------------------------------------------------------- sessions
def test_login_makes_a_session_with_its_own_csrf_token(staff, container, backend):
    agent = staff.add("agent1", "agent", GOOD, agent_code=AGENT)
    first, second = (staff.login("agent1", GOOD, address="10.0.0.1") for _ in range(2))
    assert isinstance(first, Login) and first.staff == agent
    assert first.session_id != second.session_id and first.csrf_token != second.csrf_token
    assert len(first.session_id) >= 40 and len(first.csrf_token) >= 40
    assert staff.session(first.session_id) == (agent, first.csrf_token)
    assert staff.session(second.session_id) == (agent, second.csrf_token)
    for bad in (None, "", "nope", first.session_id + "x", "x" * 10_000):
        assert staff.session(bad) is None
    digest = hashlib.sha256(first.session_id.encode()).hexdigest()
    if backend:
        client, prefix = backend
        keys = [k.decode() for k in client.scan_iter(f"{prefix}*")]
        assert f"{prefix}session:{digest}" in keys
        assert not any(first.session_id in k for k in keys)
        assert 0 < client.ttl(f"{prefix}session:{digest}") <= 30 * 60
    else:
        with container.engine.connect() as conn:
            stored = conn.execute(select(staff_sessions.c.id_hash)).scalars().all()
        assert digest in stored and first.session_id not in stored
    staff.logout(first.session_id)
    assert staff.session(first.session_id) is None
    assert staff.session(second.session_id) is not None
    staff.logout("never was a session")


def test_a_session_ends_after_30_idle_minutes(staff, clock):
    staff.add("agent1", "agent", GOOD, agent_code=AGENT)
    login = staff.login("agent1", GOOD, address="10.0.0.1")
    for _ in range(3):                  # each use keeps it alive
        clock.advance(minutes=29)
        assert staff.session(login.session_id) is not None
    clock.advance(minutes=30)
    assert staff.session(login.session_id) is None
    clock.advance(minutes=-30)          # and it is gone, not just too old
    assert staff.session(login.session_id) is None


def test_sessions_that_ended_by_time_are_swept_from_the_table(db_staff, container, clock):
    db_staff.add("agent1", "agent", GOOD, agent_code=AGENT)
    db_staff.login("agent1", GOOD, address="10.0.0.1")        # never used again
    clock.advance(minutes=31)
    kept = db_staff.login("agent1", GOOD, address="10.0.0.1")
    with container.engine.connect() as conn:
        assert conn.execute(select(staff_sessions.c.id_hash)).scalars().all() == [
            hashlib.sha256(kept.session_id.encode()).hexdigest()]


def test_a_session_ends_12_hours_after_login_however_busy(staff, clock):
    staff.add("agent1", "agent", GOOD, agent_code=AGENT)
    login = staff.login("agent1", GOOD, address="10.0.0.1")
    for _ in range(12 * 3 - 1):
        clock.advance(minutes=20)
        assert staff.session(login.session_id) is not None
    clock.advance(minutes=20)
    assert staff.session(login.session_id) is None


def test_the_timeouts_come_from_the_environment(tmp_path, sqlite_url):
    container = make_container(sqlite_url, tmp_path, STAFF_IDLE_MINUTES="5", STAFF_SESSION_HOURS="1")
    assert (container.staff.sessions.idle, container.staff.sessions.absolute) == (
        timedelta(minutes=5), timedelta(hours=1))
    assert isinstance(container.staff.sessions.backend, DatabaseSessions)
    assert container.staff is container.staff
    container.engine.dispose()


@pytest.mark.redis
def test_with_redis_url_the_container_keeps_sessions_in_redis(tmp_path, sqlite_url):
    container = make_container(sqlite_url, tmp_path, REDIS_URL=redis_url_or_skip())
    assert isinstance(container.staff.sessions.backend, RedisSessions)
    container.engine.dispose()


def test_redis_down_is_a_polite_503(container, clock):
    import redis

    client = redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    staff = make_service(container, clock, (client, "jj:test:"))
    staff.add("agent1", "agent", GOOD, agent_code=AGENT)
    for call in (lambda: staff.login("agent1", GOOD, address="10.0.0.1"),
                 lambda: staff.session("some-session-id")):
        error = refused(call)
        assert (error.code, error.status) == ("unavailable", 503) and "暂时不可用" in error.zh


# ---------------------------------------------------------------------- logout everywhere
def test_a_password_reset_ends_every_session_and_token(staff, container):
    staff.add("agent1", "agent", GOOD, agent_code=AGENT)
    sessions = [staff.login("agent1", GOOD, address="10.0.0.1") for _ in range(2)]
    token = staff.create_token("agent1", "crm")
    staff.reset_password("agent1", OTHER)
    assert all(staff.session(s.session_id) is None for s in sessions)
    assert staff.token(token) is None
    assert refused(staff.login, "agent1", GOOD, address="10.0.0.1").code == "bad_credentials"
    fresh = staff.login("agent1", OTHER, address="10.0.0.1")
    assert staff.session(fresh.session_id)[0].username == "agent1"
    assert staff.token(staff.create_token("agent1")).username == "agent1"
    assert refused(staff.reset_password, "agent1", "password1234").code == "weak_password"
    with container.engine.connect() as conn:
        assert conn.execute(select(staff_accounts.c.session_epoch)).scalar_one() == 1


def test_disabling_ends_every_session_and_token_and_refuses_login(staff):
    staff.add("sup1", "supervisor", GOOD)
    login = staff.login("sup1", GOOD, address="10.0.0.1")
    token = staff.create_token("sup1")
    staff.disable("sup1")
    assert staff.session(login.session_id) is None and staff.token(token) is None
    error = refused(staff.login, "sup1", GOOD, address="10.0.0.2")
    assert error.code == "bad_credentials"                # nothing tells a disabled account apart
    assert staff.get("sup1") is None and staff.list()[0]["disabled"] is True
    assert refused(staff.create_token, "sup1").code == "disabled"


# ---------------------------------------------------------------------- API tokens
def test_tokens_are_shown_once_stored_hashed_and_revocable(db_staff, container):
    agent = db_staff.add("agent1", "agent", GOOD, agent_code=AGENT)
    first, second = db_staff.create_token("agent1", "12345 接口"), db_staff.create_token("agent1")
    assert first.startswith("jjst_") and len(first) > 40 and first != second
    assert db_staff.token(first) == agent and db_staff.token(second) == agent
    with container.engine.connect() as conn:
        rows = conn.execute(select(staff_tokens)).mappings().all()
    assert {r["token_hash"] for r in rows} == {hashlib.sha256(t.encode()).hexdigest() for t in (first, second)}
    assert not any(first in str(v) or second in str(v) for r in rows for v in r.values())
    assert rows[0]["label"] == "12345 接口" and rows[0]["last_used_at"] is not None
    for bad in (None, "", first + "x", first[5:], "jjst_" + "A" * 43, "x" * 10_000):
        assert db_staff.token(bad) is None
    assert db_staff.revoke_tokens("agent1") == 2
    assert db_staff.token(first) is None and db_staff.token(second) is None
    assert db_staff.revoke_tokens("agent1") == 0


# ---------------------------------------------------------------------- TOTP
def test_totp_for_supervisors_then_every_login_needs_the_code(staff, clock):
    staff.add("agent1", "agent", GOOD, agent_code=AGENT)
    assert refused(staff.enable_totp, "agent1").code == "totp_role"
    staff.add("sup1", "supervisor", GOOD)
    uri = staff.enable_totp("sup1")
    assert uri.startswith("otpauth://totp/") and "sup1" in uri
    totp = pyotp.parse_uri(uri)
    assert staff.list()[1]["totp"] is True
    for _ in range(6):                      # the right password without the code: asked, not counted
        error = refused(staff.login, "sup1", GOOD, address="10.0.0.1")
        assert (error.code, error.status) == ("totp_required", 401) and "动态验证码" in error.zh
    now = clock.now.replace(tzinfo=timezone.utc)         # the clock is naive UTC
    wrong = str((int(totp.at(now)) + 1) % 1_000_000).zfill(6)
    assert refused(staff.login, "sup1", GOOD, address="10.0.0.1", totp=wrong).code == "totp_invalid"
    stale = totp.at(now - timedelta(minutes=5))
    assert refused(staff.login, "sup1", GOOD, address="10.0.0.1", totp=stale).code == "totp_invalid"
    code = totp.at(now)
    assert staff.login("sup1", GOOD, address="10.0.0.1", totp=code).staff.username == "sup1"
    assert refused(staff.login, "sup1", "wrong password!", address="10.0.0.1", totp=code).code == "bad_credentials"


def test_a_totp_code_logs_in_once_and_an_older_step_never(staff, clock):
    """RFC 6238 5.2: a code seen once (over a shoulder, in a proxy log) must not open a second
    session while it is still inside its window; a fresh step works again."""
    staff.add("sup1", "supervisor", GOOD)
    totp = pyotp.parse_uri(staff.enable_totp("sup1"))
    now = clock.now.replace(tzinfo=timezone.utc)
    assert staff.login("sup1", GOOD, address="10.0.0.1", totp=totp.at(now)).staff.username == "sup1"
    error = refused(staff.login, "sup1", GOOD, address="10.0.0.2", totp=totp.at(now))
    assert (error.code, error.status) == ("totp_reused", 401) and "已经用过" in error.zh
    clock.advance(seconds=20)               # the step before now is still inside the window
    earlier = totp.at(clock.now.replace(tzinfo=timezone.utc) - timedelta(seconds=30))
    if earlier != totp.at(now):
        assert refused(staff.login, "sup1", GOOD, address="10.0.0.1", totp=earlier).code in (
            "totp_reused", "totp_invalid")
    clock.advance(seconds=40)
    later = clock.now.replace(tzinfo=timezone.utc)
    assert staff.login("sup1", GOOD, address="10.0.0.1", totp=totp.at(later)).staff.username == "sup1"
    staff.enable_totp("sup1")               # a new secret starts afresh
    fresh = pyotp.parse_uri(staff.enable_totp("sup1"))
    assert staff.login("sup1", GOOD, address="10.0.0.1", totp=fresh.at(later)).staff.username == "sup1"


def test_two_logins_racing_with_one_totp_code_open_one_session(staff, clock):
    staff.add("admin1", "admin", GOOD)
    totp = pyotp.parse_uri(staff.enable_totp("admin1"))
    code = totp.at(clock.now.replace(tzinfo=timezone.utc))
    barrier = threading.Barrier(4)

    def attempt(n: int) -> str:
        barrier.wait()
        try:
            staff.login("admin1", GOOD, address=f"10.0.0.{n}", totp=code)
            return "in"
        except StaffError as error:
            return error.code

    with ThreadPoolExecutor(4) as pool:
        outcomes = sorted(pool.map(attempt, range(4)))
    assert outcomes == ["in", "totp_reused", "totp_reused", "totp_reused"], outcomes


def test_wrong_totp_codes_count_towards_the_lock(staff):
    staff.add("admin1", "admin", GOOD)
    staff.enable_totp("admin1")
    for _ in range(4):
        refused(staff.login, "admin1", GOOD, address="10.0.0.1", totp="000000")
    assert refused(staff.login, "admin1", GOOD, address="10.0.0.1", totp="000001").code == "locked"


# ---------------------------------------------------------------------- nothing secret in logs
def test_no_password_session_or_token_is_logged(staff, container, backend, caplog):
    caplog.set_level(logging.DEBUG)
    staff.add("agent1", "agent", GOOD, agent_code=AGENT)
    refused(staff.add, "agent2", "agent", "password1234", agent_code=AGENT)
    refused(staff.login, "agent1", OTHER, address="10.0.0.1")
    refused(staff.login, OTHER, GOOD, address="10.0.0.1")      # the password in the name field
    login = staff.login("agent1", GOOD, address="10.0.0.1")
    token = staff.create_token("agent1")
    staff.token(token)
    staff.session(login.session_id)
    staff.reset_password("agent1", OTHER)
    assert "agent1" in caplog.text                        # the log does say what happened
    for secret in (GOOD, OTHER, "password1234", login.session_id, login.csrf_token, token):
        assert secret not in caplog.text
    with container.engine.connect() as conn:                 # nor what the lockout keeps
        kept = str(conn.execute(select(login_failures)).all())
    if backend:
        kept += str(list(backend[0].scan_iter(f"{backend[1]}*")))
    assert "agent1" not in kept and OTHER not in kept and "10.0.0.1" not in kept
