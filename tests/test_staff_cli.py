"""`bot staff …` as an administrator runs it: real processes, real database, JSON contracts."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.conftest import ROOT, make_container
from tests.test_cli import BOT

GOOD = "长密码-不常见-2026"
OTHER = "另一个-足够长的口令-7391"


@pytest.fixture
def env(database_url, tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    return {**env, "DATABASE_URL": database_url, "BOT_VAR_DIR": str(tmp_path / "var")}


@pytest.fixture
def run(env):
    def _run(*args, stdin: str | None = None, ok=True):
        proc = subprocess.run([BOT, *args], capture_output=True, text=True, env=env, cwd=ROOT,
                              input=stdin if stdin is not None else "", timeout=120)
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc

    _run("db", "upgrade")
    return _run


@pytest.fixture
def service(database_url, tmp_path):
    """The same database, from the test process: what the commands did, seen by the service."""
    container = make_container(database_url, tmp_path)
    yield container.staff
    container.engine.dispose()


def test_add_list_and_log_in_with_what_was_added(run, service):
    added = json.loads(run("staff", "add", "agent1", "--role", "agent", "--agent", "A-C",
                           "--name", "周建国", "--password-stdin", "--json", stdin=GOOD + "\n").stdout)
    assert added == {"username": "agent1", "role": "agent", "role_label": "代理员", "name": "周建国",
                     "agent": "A-C", "body": None}
    human = run("staff", "add", "cgj.li", "--role", "body", "--body", "B-CGJ", "--password-stdin",
                stdin=OTHER).stdout
    assert "已添加承办单位账号 cgj.li" in human and "B-CGJ" in human
    rows = json.loads(run("staff", "list", "--json").stdout)
    assert [(r["username"], r["role"], r["disabled"]) for r in rows] == [
        ("agent1", "agent", False), ("cgj.li", "body", False)]
    listed = run("staff", "list").stdout
    assert "agent1" in listed and "代理员" in listed and "周建国" in listed
    # the trailing newline of stdin is not part of the password
    assert service.login("agent1", GOOD, address="10.0.0.1").staff.name == "周建国"
    assert service.login("cgj.li", OTHER, address="10.0.0.1").staff.body_code == "B-CGJ"


REFUSALS = [
    (["staff", "add", "agent1", "--role", "agent", "--agent", "A-C", "--password-stdin"],
     "password1234\n", "常见的密码"),
    (["staff", "add", "agent1", "--role", "agent", "--agent", "A-C", "--password-stdin"],
     "短了\n", "至少需要 10 个字符"),
    (["staff", "add", "agent1", "--role", "agent", "--agent", "A-C"], GOOD, "--password-stdin"),
    (["staff", "add", "agent1", "--role", "agent", "--agent", "NOPE", "--password-stdin"], GOOD,
     "代理员编号"),
    (["staff", "add", "agent1", "--role", "body", "--password-stdin"], GOOD, "单位编号"),
    (["staff", "add", "x", "--role", "operator", "--password-stdin"], GOOD, "3 到 32 个字符"),
    (["staff", "add", "op1", "--role", "boss", "--password-stdin"], GOOD, "参数的值不对"),
    (["staff", "disable", "ghost"], "", "没有找到用户名为 ghost"),
    (["staff", "reset-password", "ghost", "--password-stdin"], OTHER, "没有找到"),
    (["staff", "token", "create", "ghost"], "", "没有找到"),
    (["staff", "token", "revoke", "ghost"], "", "没有找到"),
    (["staff", "totp", "enable", "ghost"], "", "没有找到"),
]


def test_refusals_are_one_chinese_line_exit_2_and_change_nothing(run):
    for args, stdin, needle in REFUSALS:
        proc = run(*args, stdin=stdin, ok=False)
        assert proc.returncode == 2, (args, proc.stderr)
        lines = [line for line in proc.stderr.splitlines() if not line.startswith("Usage:")]
        assert len(lines) == 1 and lines[0].startswith("错误：") and needle in lines[0], args
        if stdin.strip():                           # a refused password is not repeated
            assert stdin.strip() not in proc.stderr + proc.stdout
    assert json.loads(run("staff", "list", "--json").stdout) == []


def test_a_taken_username_is_refused(run):
    run("staff", "add", "op1", "--role", "operator", "--password-stdin", stdin=GOOD)
    proc = run("staff", "add", "OP1", "--role", "operator", "--password-stdin", stdin=OTHER, ok=False)
    assert proc.returncode == 2 and "已被使用" in proc.stderr


def test_tokens_are_printed_once_work_and_are_revoked(run, service):
    run("staff", "add", "crm", "--role", "operator", "--password-stdin", stdin=GOOD)
    proc = run("staff", "token", "create", "crm", "--label", "12345 接口")
    token = proc.stdout.strip()
    assert token.startswith("jjst_") and len(proc.stdout.splitlines()) == 1
    assert "只显示这一次" in proc.stderr and token not in proc.stderr
    assert service.token(token).username == "crm"
    as_json = json.loads(run("staff", "token", "create", "crm", "--json").stdout)
    assert as_json["username"] == "crm" and service.token(as_json["token"]).username == "crm"
    assert "2 个令牌" in run("staff", "token", "revoke", "crm").stdout
    assert service.token(token) is None and service.token(as_json["token"]) is None


def test_reset_password_and_disable_end_sessions_and_tokens(run, service):
    run("staff", "add", "sup1", "--role", "supervisor", "--password-stdin", stdin=GOOD)
    login = service.login("sup1", GOOD, address="10.0.0.1")
    token = run("staff", "token", "create", "sup1").stdout.strip()
    assert "所有登录和令牌已失效" in run("staff", "reset-password", "sup1", "--password-stdin",
                                     stdin=OTHER + "\n").stdout
    assert service.session(login.session_id) is None and service.token(token) is None
    login = service.login("sup1", OTHER, address="10.0.0.1")
    weak = run("staff", "reset-password", "sup1", "--password-stdin", stdin="qwertyuiop", ok=False)
    assert weak.returncode == 2 and "密码不符合要求" in weak.stderr
    assert service.session(login.session_id) is not None          # a refused reset ends nothing
    run("staff", "disable", "sup1")
    assert service.session(login.session_id) is None
    assert json.loads(run("staff", "list", "--json").stdout)[0]["disabled"] is True


def test_totp_enable_prints_the_uri_for_supervisors_only(run, service):
    import pyotp

    run("staff", "add", "sup1", "--role", "supervisor", "--password-stdin", stdin=GOOD)
    run("staff", "add", "agent1", "--role", "agent", "--agent", "A-C", "--password-stdin", stdin=GOOD)
    uri = run("staff", "totp", "enable", "sup1").stdout.strip()
    assert uri.startswith("otpauth://totp/") and "secret=" in uri
    code = pyotp.parse_uri(uri).now()
    assert service.login("sup1", GOOD, address="10.0.0.1", totp=code).staff.username == "sup1"
    refused = run("staff", "totp", "enable", "agent1", ok=False)
    assert refused.returncode == 2 and "督办和管理员" in refused.stderr


def test_an_unreachable_database_is_exit_3(tmp_path):
    env = {**os.environ, "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
           "BOT_VAR_DIR": str(tmp_path / "var")}
    proc = subprocess.run([BOT, "staff", "list"], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=60)
    assert proc.returncode == 3 and "无法访问数据库" in proc.stderr and "Traceback" not in proc.stderr


def test_nothing_secret_reaches_the_output_or_the_logs(run, tmp_path):
    run("-v", "staff", "add", "agent1", "--role", "agent", "--agent", "A-C", "--password-stdin",
        stdin=GOOD)
    outputs = [run("-v", "staff", "reset-password", "agent1", "--password-stdin", stdin=OTHER),
               run("-v", "staff", "list", "--json"),
               run("-v", "staff", "add", "agent2", "--role", "agent", "--agent", "A-C",
                   "--password-stdin", stdin="password1234", ok=False)]
    logs = "".join(p.read_text(errors="replace") for p in (tmp_path / "var").rglob("*.log"))
    for secret in (GOOD, OTHER, "password1234", "$argon2"):
        assert all(secret not in p.stdout + p.stderr for p in outputs) and secret not in logs
