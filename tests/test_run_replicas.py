"""`bot run --replicas 2` on PostgreSQL and Redis: two Rasa servers and two app processes
behind HAProxy (issue 12, part 3). Real processes, the trained model, loopback only.

A conversation through the balancer ends in one case; a Rasa replica SIGKILLed in the middle
of the next conversation does not stop it: every message is answered, once (each user message
is in the shared tracker once), and each conversation has exactly one case."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from bot.replicas import haproxy_bin
from tests.conftest import CI, drop_postgres_database, new_postgres_database
from tests.web_support import redis_url_or_skip

def _phone() -> str:
    import random

    return "139" + "".join(random.choice("0123456789") for _ in range(8))


CONVERSATION = ["小区门口的路灯坏了一排", "幸福小区3栋", "前天晚上开始的", _phone(), "确认"]
SECOND = ["楼下烧烤店天天半夜吵得睡不着", "文化路28号", "最近一个月", _phone(), "确认"]


def free_run(count: int) -> int:
    """A port p with p … p+count all free (the balancer's and its replicas')."""
    for _ in range(200):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            base = sock.getsockname()[1]
        if base + count > 65000:
            continue
        try:
            holders = []
            for port in range(base, base + count + 1):
                s = socket.socket()
                holders.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in holders:
                s.close()
    raise RuntimeError("no free run of ports")


def haproxy_or_skip() -> None:
    if haproxy_bin() is None:
        reason = "haproxy missing: run scripts/system_deps.sh as root (apt-get install haproxy)"
        if CI:
            pytest.fail(reason)
        pytest.skip(reason)


def test_replicas_refuse_politely_without_postgres_and_redis(tmp_path):
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"")
    env = {"BOT_VAR_DIR": str(tmp_path / "var"), "RASA_MODEL": str(model),
           "RASA_BIN": sys.executable, "TELEGRAM_BOT_TOKEN": ""}
    from bot.run import run_command

    sqlite = CliRunner().invoke(run_command, ["--replicas", "2"], env={
        **env, "DATABASE_URL": f"sqlite:///{tmp_path / 'cases.db'}", "REDIS_URL": "redis://127.0.0.1:6379/15"})
    assert sqlite.exit_code == 2 and "PostgreSQL" in sqlite.output and "DATABASE_URL" in sqlite.output
    no_redis = CliRunner().invoke(run_command, ["--replicas", "2"], env={
        **env, "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/none", "REDIS_URL": ""})
    assert no_redis.exit_code == 2 and "REDIS_URL" in no_redis.output
    assert "Traceback" not in sqlite.output + no_redis.output


@pytest.fixture
def replicated(tmp_path, postgres_server):
    from bot.run import model_path
    from bot.settings import ROOT

    if not model_path().is_file():
        pytest.skip(f"no trained model at {model_path()}: run `make model`")
    haproxy_or_skip()
    redis_url = redis_url_or_skip()
    database_url = new_postgres_database(postgres_server)
    rasa_port, app_port = free_run(2), free_run(2)
    env = {**os.environ, "BOT_VAR_DIR": str(tmp_path / "var"), "DATABASE_URL": database_url,
           "REDIS_URL": redis_url, "RASA_URL": f"http://127.0.0.1:{rasa_port}",
           "ACTION_PORT": str(free_run(0)), "APP_PORT": str(app_port), "TELEGRAM_BOT_TOKEN": "",
           "WEBCHAT_RATE_PER_SESSION": "1000/minute", "WEBCHAT_RATE_PER_ADDRESS": "10000/minute"}
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run", "--replicas", "2",
                             "--timeout", "240"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    output: list[str] = []
    threading.Thread(target=lambda: output.extend(proc.stdout), daemon=True).start()
    base = f"http://127.0.0.1:{app_port}"
    import redis

    shared = redis.Redis.from_url(redis_url)
    before = set(shared.scan_iter("jianjian:tracker:*"))
    try:
        deadline = time.monotonic() + 270
        while not any("Ctrl-C" in line for line in output):
            assert proc.poll() is None, "bot run --replicas exited:\n" + "".join(output)
            assert time.monotonic() < deadline, "not ready:\n" + "".join(output)
            time.sleep(0.5)
        yield base, proc, output, database_url, redis_url, rasa_port
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(90)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            code = proc.wait(10)
        drop_postgres_database(postgres_server, database_url)
        made = set(shared.scan_iter("jianjian:tracker:*")) - before
        if made:
            shared.delete(*made)
    assert code == 0 and "已全部停止" in "".join(output), "".join(output)


def _say(client: httpx.Client, words: str) -> list[str]:
    """The bot's answer to one message: at once, or (kept) from the inbox once it comes."""
    reply = client.post("/api/chat/message", json={"text": words})
    assert reply.status_code in (200, 202), reply.text
    if reply.status_code == 200:
        return [m.get("text") or "" for m in reply.json()["messages"]]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        items = client.get("/api/chat/updates").json()["items"]
        if items:
            client.post("/api/chat/ack", json={"ids": [i["id"] for i in items]})
            return [m.get("text") or "" for i in items for m in i.get("messages") or []]
        time.sleep(0.3)
    raise AssertionError(f"no answer to {words!r}")


def _cases(database_url: str) -> list[tuple[str, str]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text("select number, text from cases"))]
    finally:
        engine.dispose()


def _user_messages(redis_url: str, phone: str) -> list[str]:
    """The user messages of the one shared tracker whose conversation gave `phone`."""
    import redis

    client = redis.Redis.from_url(redis_url)
    found = []
    for key in client.scan_iter("jianjian:tracker:webchat:*"):
        events = json.loads(client.get(key)).get("events") or []
        said = [e.get("text") for e in events if e.get("event") == "user"]
        if phone in said:
            found.append(said)
    assert len(found) == 1, found
    return found[0]


def _concurrent_messages_of_one_resident_all_kept(rasa_port: int, redis_url: str) -> None:
    """Four messages of one sender at once through the balancer's Rasa frontend, so both
    replicas get some: the Redis lock store makes them take turns, and each turn reads the
    tracker the previous one wrote (without it, concurrent saves overwrite each other)."""
    import uuid
    from concurrent.futures import ThreadPoolExecutor

    import redis

    sender = f"order-{uuid.uuid4().hex[:8]}"
    words = [f"你好{i}" for i in range(4)]
    url = f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook"

    def send(text_: str) -> int:
        return httpx.post(url, json={"sender": sender, "message": text_}, timeout=60).status_code

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(send, words)) == [200] * 4
    shared = redis.Redis.from_url(redis_url)
    events = json.loads(shared.get(f"jianjian:tracker:{sender}"))["events"]
    said = [e.get("text") for e in events if e.get("event") == "user"]
    assert sorted(said) == words, said
    shared.delete(f"jianjian:tracker:{sender}")


def _rasa_replicas(supervisor: int) -> list[int]:
    from tests.test_run_faults import children_of, cmdline

    return [pid for pid in children_of(supervisor) if "rasa run" in cmdline(pid)]


@pytest.mark.slow
@pytest.mark.rasa
@pytest.mark.postgres
def test_two_replicas_behind_the_balancer_survive_a_sigkilled_rasa(replicated):
    base, proc, output, database_url, redis_url, rasa_port = replicated
    _concurrent_messages_of_one_resident_all_kept(rasa_port, redis_url)
    with httpx.Client(base_url=base, timeout=60) as client:
        client.get("/api/chat/session")
        answers = [_say(client, words) for words in CONVERSATION]
    assert all(answers), answers
    assert any("编号" in t for t in answers[-1]), answers[-1]
    assert len(_cases(database_url)) == 1

    replicas = _rasa_replicas(proc.pid)
    assert len(replicas) == 2, "".join(output)
    with httpx.Client(base_url=base, timeout=60) as client:
        client.get("/api/chat/session")
        answers = [_say(client, words) for words in SECOND[:2]]
        os.kill(replicas[0], signal.SIGKILL)
        answers += [_say(client, words) for words in SECOND[2:]]
    assert all(answers), answers
    assert any("编号" in t for t in answers[-1]), answers[-1]
    cases = _cases(database_url)
    assert len(cases) == 2 and len({number for number, _ in cases}) == 2, cases
    assert _user_messages(redis_url, SECOND[3]) == SECOND
    assert _user_messages(redis_url, CONVERSATION[3]) == CONVERSATION
    assert any("[rasa1] 意外退出" in line for line in output), "".join(output)


def test_one_watchdog_leader_among_replicas_and_a_takeover_when_it_goes():
    import uuid

    from bot.leader import Leader

    url = redis_url_or_skip()
    name = f"test-{uuid.uuid4().hex[:8]}"
    first, second = Leader(url, name, ttl=1.0), Leader(url, name, ttl=1.0)
    assert first.held() and not second.held()
    assert first.held() and not second.held()        # the holder renews its lease
    first.release()
    assert second.held() and not first.held()
    time.sleep(1.3)                                  # the holder died without releasing
    assert first.held() and not second.held()
    first.release()
    assert Leader(None, name).held()                 # without Redis: the one process runs it
