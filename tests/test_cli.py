"""The `bot` command as operators use it: real processes, real database, JSON contracts."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

BOT = str(Path(sys.executable).with_name("bot"))


@pytest.fixture
def run(database_url, tmp_path):
    env = {**os.environ, "DATABASE_URL": database_url, "BOT_VAR_DIR": str(tmp_path / "var")}

    def _run(*args, ok=True):
        proc = subprocess.run([BOT, *args], capture_output=True, text=True, env=env, cwd=ROOT,
                              timeout=120)
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc

    _run("db", "upgrade")
    return _run


def test_open_show_act_list_json(run):
    opened = json.loads(run("case", "open", "--text", "人民路路灯坏了一排", "--category",
                            "urban.municipal_facility", "--area", "S1P3G1", "--contact",
                            "13812345678", "--channel", "sms", "--address", "13812345678",
                            "--idempotency-key", "k1", "--json").stdout)
    for key in ("number", "kind", "state", "category", "area", "body", "agent", "due_at", "events"):
        assert key in opened
    number = opened["number"]
    assert opened["category"] == {"code": "urban.municipal_facility", "level1": "城乡建设", "level2": "市政设施"}
    assert opened["body"]["name"] == "县城市管理局"
    again = json.loads(run("case", "open", "--text", "x", "--category", "env.noise",
                           "--idempotency-key", "k1", "--json").stdout)
    assert again["number"] == number

    for action, extra in [("accept", []), ("start", []), ("reply", ["--text", "已安排维修"]),
                          ("resolve", ["--text", "路灯已修复"])]:
        run("case", "act", number, action, *extra)
    rated = json.loads(run("case", "act", number, "rate", "--solved", "--satisfaction", "满意",
                           "--json").stdout)
    assert rated["state"] == "resolved"
    shown = json.loads(run("case", "show", number, "--json").stdout)
    assert [e["action"] for e in shown["events"]] == [
        "open", "assign", "accept", "start", "reply", "resolve", "rate"]
    event = shown["events"][4]
    assert {"at", "actor", "action", "from_state", "to_state", "public_text"} <= set(event)
    assert "已安排维修" in event["public_text"]
    listed = json.loads(run("case", "list", "--state", "resolved", "--json").stdout)
    assert [c["number"] for c in listed] == [number]
    human = run("case", "show", number).stdout
    assert "县城市管理局" in human and "13812345678" not in human
    stats = json.loads(run("stats", "--json").stdout)
    for key in ("response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate", "counts"):
        assert key in stats
    assert stats["resolution_rate"] == 1.0
    sent = json.loads(run("outbox", "--once", "--json").stdout)
    assert sent["sent"] == 7 and sent["totals"] == {"sent": 7}  # one per public event


def test_categories_json(run):
    rows = json.loads(run("categories", "--json").stdout)
    assert len(rows) >= 60 and len({r["level1"] for r in rows}) >= 12
    noise = next(r for r in rows if r["code"] == "env.noise")
    assert noise["level2"] == "噪声扰民" and noise["limits"]["resolve_working_days"] == 5


def test_a_command_without_cases_leaves_a_new_database_alone(tmp_path):
    """`bot categories` reads the taxonomy only: on a DATABASE_URL nobody has used it creates
    no store (a command that reads cases, `bot case list`, does)."""
    store = tmp_path / "new" / "cases.db"
    store.parent.mkdir()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{store}", "BOT_VAR_DIR": str(tmp_path / "var")}

    def bot(*args):
        return subprocess.run([BOT, *args], capture_output=True, text=True, env=env, cwd=ROOT,
                              timeout=120)

    assert bot("categories", "--json").returncode == 0
    assert not store.exists() or store.stat().st_size == 0
    assert bot("case", "list", "--json").returncode == 0
    assert store.stat().st_size > 0


@pytest.mark.parametrize("args,needle", [
    (["case", "open", "--text", "吵", "--category", "nope"], "未知的诉求分类"),
    (["case", "open", "--text", "", "--category", "env.noise"], "不能为空"),
    (["case", "open", "--text", "吵", "--category", "env.noise", "--contact", "110"], "电话号码格式不对"),
    (["case", "open", "--text", "吵", "--category", "env.noise", "--area", "ZZ"], "未知的区域"),
    (["case", "show", "20990101-0001"], "未找到"),
    (["case", "act", "20990101-0001", "accept"], "未找到"),
    (["stats", "--period", "Q9"], "统计周期格式不对"),
])
def test_errors_exit_nonzero_with_one_line_and_change_nothing(run, args, needle):
    proc = run(*args, ok=False)
    assert proc.returncode != 0
    assert needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert json.loads(run("case", "list", "--json").stdout) == []


def test_illegal_transition_is_a_clear_error(run):
    number = json.loads(run("case", "open", "--text", "噪音", "--category", "env.noise", "--json").stdout)["number"]
    proc = run("case", "act", number, "close", ok=False)
    assert proc.returncode == 2 and "不能执行“归档”" in proc.stderr
    assert json.loads(run("case", "show", number, "--json").stdout)["state"] == "assigned"


def test_bad_database_url(tmp_path):
    for url, needle in [("nonsense", "DATABASE_URL"), ("mysql://x/y", "不支持"),
                        ("postgresql+psycopg://nobody@127.0.0.1:1/none", "无法访问数据库")]:
        proc = subprocess.run([BOT, "case", "list"], capture_output=True, text=True, cwd=ROOT,
                              env={**os.environ, "DATABASE_URL": url}, timeout=60)
        assert proc.returncode != 0 and needle in proc.stderr, (url, proc.stderr)
        assert "Traceback" not in proc.stderr


def test_outbox_leaves_other_doors_to_their_process(run):
    run("case", "open", "--text", "路灯不亮", "--category", "urban.municipal_facility",
        "--channel", "webchat", "--address", "session-1")
    result = json.loads(run("outbox", "--once", "--json").stdout)
    assert result["sent"] == 0 and result["totals"] == {"pending": 2}


def test_hostile_arguments_in_a_real_process_are_one_line_refusals(run):
    """What only a real argv carries: bytes that are not UTF-8 ('\udcff' is passed on as the
    byte 0xff; Python hands it back as a lone surrogate, which no database or terminal takes)."""
    for args in (["case", "open", "--text", "\udcff\udcfe\udcb3", "--category", "env.noise"],
                 ["case", "show", "\udcc3"], ["classify", "  "],
                 ["case", "act", "20990101-0001", "extend", "--to", "99999"]):
        proc = run(*args, ok=False)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and proc.stderr.startswith("错误：")
        assert len(proc.stderr.splitlines()) == 1
    assert json.loads(run("case", "list", "--json").stdout) == []
