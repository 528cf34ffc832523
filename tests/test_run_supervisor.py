"""`bot run`: its Rasa configuration, the supervisor's restart and stop, and (slow, with the
trained model) the whole product coming up healthy and stopping cleanly on SIGTERM."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
import yaml

from bot.run import (Child, RunError, Supervisor, endpoints_yaml, model_path, plan,
                     upgrade_database)
from bot.settings import ROOT, Settings
from tests.web_support import product

SLEEPER = [sys.executable, "-c", "import time\nwhile True: time.sleep(1)"]


def settings_for(tmp_path, **env) -> Settings:
    return Settings.from_env({"BOT_VAR_DIR": str(tmp_path / "var"), **env})


def test_endpoints_default_to_sqlite_tracker_and_local_actions(tmp_path):
    data = yaml.safe_load(endpoints_yaml(settings_for(tmp_path, ACTION_PORT="5999")))
    assert data["action_endpoint"]["url"] == "http://127.0.0.1:5999/webhook"
    assert data["tracker_store"]["type"] == "rasa_tools.tracker_store.LocalSQLTrackerStore"
    assert data["tracker_store"]["dialect"] == "sqlite"
    assert data["tracker_store"]["db"].startswith(str(tmp_path / "var"))
    assert "lock_store" not in data


def test_redis_url_adds_the_redis_lock_store(tmp_path):
    data = yaml.safe_load(endpoints_yaml(settings_for(
        tmp_path, REDIS_URL="redis://:s3cret@10.0.0.5:6380/2")))
    assert data["lock_store"] == {"type": "rasa_tools.lock_store.AtomicRedisLockStore", "url": "10.0.0.5", "port": 6380, "db": 2,
                                  "key_prefix": "jianjian", "password": "s3cret"}


def test_missing_model_says_to_run_make_model(tmp_path):
    with pytest.raises(RunError, match="make model"):
        plan(settings_for(tmp_path), {"RASA_MODEL": str(tmp_path / "none.tar.gz")})
    result = subprocess.run([sys.executable, "-m", "bot.cli", "run"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60,
                            env={**os.environ, "RASA_MODEL": str(tmp_path / "none.tar.gz"),
                                 "BOT_VAR_DIR": str(tmp_path / "var")})
    assert result.returncode == 2 and "make model" in result.stderr


def test_a_new_database_is_upgraded_before_anything_starts(tmp_path):
    import sqlalchemy

    url = f"sqlite:///{tmp_path / 'new.db'}"
    upgrade_database(settings_for(tmp_path, DATABASE_URL=url))
    upgrade_database(settings_for(tmp_path, DATABASE_URL=url))         # idempotent
    tables = sqlalchemy.inspect(sqlalchemy.create_engine(url)).get_table_names()
    assert {"cases", "webchat_pending", "alembic_version"} <= set(tables)


def test_an_unreachable_database_is_a_clear_refusal(tmp_path):
    url = "postgresql+psycopg://nobody:secret@127.0.0.1:1/none"
    with pytest.raises(RunError) as refused:
        upgrade_database(settings_for(tmp_path, DATABASE_URL=url))
    assert "DATABASE_URL" in str(refused.value) and "secret" not in str(refused.value)


def test_plan_runs_rasa_actions_and_app_and_telegram_with_a_token(tmp_path):
    model = tmp_path / "m.tar.gz"
    model.write_bytes(b"")
    env = {"RASA_MODEL": str(model), "RASA_BIN": sys.executable}
    names = [c.name for c in plan(settings_for(tmp_path), env)]
    assert names == ["rasa", "actions", "app"]
    with_token = plan(settings_for(tmp_path, TELEGRAM_BOT_TOKEN="1:abc"), env)
    assert [c.name for c in with_token][-1] == "telegram"
    rasa = with_token[0].argv
    assert rasa[1:4] == ["run", "--enable-api", "-m"] and "--cors" in rasa
    credentials = (tmp_path / "var" / "rasa" / "credentials.yml").read_text()
    assert credentials.strip().endswith("rasa_tools.rest.RestInput:")


def test_crashed_child_is_restarted_with_backoff_and_all_stop_cleanly(tmp_path):
    flag = tmp_path / "crashed-once"
    crasher = [sys.executable, "-c",
               f"import pathlib, sys, time\np = pathlib.Path({str(flag)!r})\n"
               "if not p.exists():\n    p.write_text('x'); sys.exit(3)\nwhile True: time.sleep(1)"]
    lines: list[str] = []
    children = [Child("steady", SLEEPER), Child("crasher", crasher)]
    supervisor = Supervisor(children, tmp_path / "log", out=lines.append)
    for child in children:
        supervisor.start(child)
    deadline = time.monotonic() + 10
    while children[1].restarts == 0 and time.monotonic() < deadline:
        supervisor.check()
        time.sleep(0.1)
    assert children[1].restarts == 1 and children[1].proc.poll() is None
    assert any("意外退出（退出码 3）" in line for line in lines)
    assert children[1].backoff == 2.0
    pids = [c.proc.pid for c in children]
    supervisor.stop()
    assert all(c.proc.poll() is not None for c in children)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)


def test_sigterm_stops_a_child_that_ignores_it(tmp_path, monkeypatch):
    monkeypatch.setattr("bot.run.GRACE_SECONDS", 1.0)
    stubborn = [sys.executable, "-c",
                "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                "while True: time.sleep(1)"]
    lines: list[str] = []
    child = Child("stubborn", stubborn)
    supervisor = Supervisor([child], tmp_path / "log", out=lines.append)
    supervisor.start(child)
    time.sleep(0.5)
    started = time.monotonic()
    supervisor.stop()
    assert child.proc.poll() is not None and time.monotonic() - started < 5
    assert any("强制结束" in line for line in lines)


# ---------------------------------------------------------------------- the real thing
@pytest.mark.slow
@pytest.mark.rasa
def test_bot_run_becomes_healthy_and_stops_on_sigterm(tmp_path):
    if not model_path().is_file():
        pytest.skip(f"no trained model at {model_path()}: run `make model` (the dialogue's model)")
    with product(tmp_path) as (base, env, output, state):
        text = "".join(output)
        assert "已启动" in text and "ready in" in text and "Ctrl-C" in text
        health = httpx.get(f"{base}/healthz", timeout=10)
        assert health.status_code == 200, health.text
        assert health.json() == {"status": "ok", "db": True, "rasa": True, "actions": True}
        assert httpx.get(f"{base}/chat", timeout=5).status_code == 200
        state["proc"].send_signal(signal.SIGTERM)
        assert state["proc"].wait(60) == 0, "".join(output)
    assert "已全部停止" in "".join(output)
    for port in state["ports"]:
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
