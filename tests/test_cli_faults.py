"""The `bot` command when things around it go wrong: a locked or garbage database file, an
impossible statistics period, and a loop stopped by Ctrl-C or SIGTERM. Real processes."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

BOT = str(Path(sys.executable).with_name("bot"))


@pytest.fixture
def env(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cases.db'}",
           "BOT_VAR_DIR": str(tmp_path / "var")}
    env.pop("SQLITE_BUSY_TIMEOUT", None)
    subprocess.run([BOT, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True,
                   timeout=120)
    return env


def bot(env, *args, timeout=60):
    return subprocess.run([BOT, *args], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=timeout)


@pytest.mark.parametrize("period", ["0000", "9999", "9999Q4", "1969", "2026-13", "2026-00", "2026Q5"])
def test_an_impossible_period_is_refused_with_a_reason(env, period):
    proc = bot(env, "stats", "--period", period)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("错误：") and len(proc.stderr.strip().splitlines()) == 1
    assert "内部错误" not in proc.stderr and "ValueError" not in proc.stderr


def test_a_period_at_the_edges_of_the_range_is_computed(env):
    for period in ("1970", "2999Q4", "2999-12"):
        assert bot(env, "stats", "--period", period, "--json").returncode == 0


@pytest.mark.parametrize("args", [["case", "list"], ["db", "upgrade"]])
def test_a_garbage_database_file_is_named_without_driver_internals(tmp_path, env, args):
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(os.urandom(4096))
    proc = bot({**env, "DATABASE_URL": f"sqlite:///{garbage}"}, *args)
    assert proc.returncode == 3, proc.stderr
    assert "不是一个数据库文件" in proc.stderr and "not a database" in proc.stderr
    assert "sqlite3" not in proc.stderr and "DatabaseError" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_garbage_tracker_store_is_named_without_driver_internals(tmp_path, env):
    garbage = tmp_path / "trackers.db"
    garbage.write_bytes(os.urandom(4096))
    proc = bot(env, "trackers", "purge", "--older-than", "30", "--url", f"sqlite:///{garbage}")
    assert proc.returncode == 3, proc.stderr
    assert "不是一个数据库文件" in proc.stderr and "sqlite3" not in proc.stderr


@pytest.mark.parametrize("args", [["case", "list"],
                                  ["case", "open", "--text", "路灯坏了", "--category", "env.noise"]])
def test_a_locked_database_is_given_up_within_seconds(tmp_path, env, args):
    holder = sqlite3.connect(tmp_path / "cases.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        proc = bot(env, *args)
        took = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
    assert proc.returncode == 3, proc.stderr
    assert "占用" in proc.stderr and "database is locked" in proc.stderr
    assert took < 15, f"waited {took:.1f} s for the lock"


@pytest.mark.parametrize("args", [["watchdog", "--interval", "1"], ["outbox", "--interval", "0.5"]])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_loop_stopped_by_a_signal_stops_cleanly(env, args, sig):
    proc = subprocess.Popen([BOT, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        first = proc.stdout.readline()           # one pass done: the loop is running
        assert first and time.monotonic() < deadline
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "已停止" in err and "已中止" not in err and "Traceback" not in err
