"""Redis restarted while residents talk (issue 12, part 4).

`bot run` with the trained model and REDIS_URL on a private `redis-server` that this test starts
on a free loopback port (never the machine's own Redis): Rasa's conversation locks, the live
push of the chat page, rate limits and the leader leases are on it. Four residents run whole
reports at once while Redis is restarted twice (SIGTERM, down a moment, started again on the
same port, its append-only file kept as a real server's would be). Every report ends in one
case and every message is in its conversation's tracker exactly once."""
from __future__ import annotations

import shutil
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis

from bot.run import model_path
from tests.conftest import CI
from tests.faults import lost_and_duplicated, report
from tests.test_faults_actions_down import _sessions
from tests.test_run_replicas import CONVERSATION, SECOND, _cases, _phone, _say
from tests.web_support import free_port, product

pytestmark = [pytest.mark.rasa, pytest.mark.slow]

class PrivateRedis:
    def __init__(self, directory) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            reason = ("redis-server missing: run scripts/system_deps.sh as root "
                      "(apt-get install redis-server)")
            if CI:
                pytest.fail(reason)
            pytest.skip(reason)
        self.port = free_port()
        self.argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "yes", "--dir", str(directory), "--daemonize", "no"]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        deadline = time.monotonic() + 20
        while True:
            try:
                if client.ping():
                    return
            except redis.RedisError:
                pass
            assert self.proc.poll() is None and time.monotonic() < deadline, "redis did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def _conversations() -> list[list[str]]:
    return [[*(CONVERSATION, SECOND)[n % 2][:3], _phone(), "确认"] for n in range(4)]


class Gates:
    """Residents stop before their message number `AT[n]` until restart `n` has begun, so Redis
    goes down while every resident is mid-report and their next messages meet the outage (a
    timed restart fell after the last message on a fast machine)."""

    AT = (1, 3)          # before the place, and before the phone number

    def __init__(self, residents: int) -> None:
        self.residents = residents
        self.arrived = [0] * len(self.AT)
        self.opened = [threading.Event() for _ in self.AT]
        self.changed = threading.Condition()

    def pass_before(self, message: int) -> None:
        if message in self.AT:
            n = self.AT.index(message)
            with self.changed:
                self.arrived[n] += 1
                self.changed.notify_all()
            assert self.opened[n].wait(90), f"restart {n} never began"

    def all_waiting(self, n: int, timeout: float = 90) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.arrived[n] == self.residents, timeout), \
                f"residents at gate {n}: {self.arrived[n]} of {self.residents}"


def test_redis_restarted_twice_while_four_residents_report(tmp_path, private_redis):
    if not model_path().is_file():
        pytest.skip(f"no trained model at {model_path()}: run `make model`")
    started = time.monotonic()
    talks = _conversations()
    gates = Gates(len(talks))
    answered: dict[int, list[list[str]]] = {}
    settings = {"REDIS_URL": private_redis.url, "WEBCHAT_RATE_PER_SESSION": "1000/minute"}
    with product(tmp_path, extra_env=settings) as (base, env, output, state):
        said = []

        def resident(n: int) -> None:
            with httpx.Client(base_url=base, timeout=60) as client:
                client.get("/api/chat/session")
                answered[n] = []
                for index, words in enumerate(talks[n]):
                    gates.pass_before(index)
                    answered[n].append(_say(client, words))
                    said.append(words)

        with ThreadPoolExecutor(len(talks)) as pool:
            running = [pool.submit(resident, n) for n in range(len(talks))]
            during = []
            for n in range(len(Gates.AT)):
                gates.all_waiting(n)
                during.append(len(said))
                private_redis.stop()
                gates.opened[n].set()      # their next messages arrive while Redis is down
                time.sleep(1.0)
                private_redis.start()
            for future in running:
                future.result(timeout=110)
            assert during == [len(talks) * at for at in Gates.AT], during
        cases = _cases(env["DATABASE_URL"])
        trackers = []
        for session in _sessions(env["DATABASE_URL"]):
            events = httpx.get(f"{env['RASA_URL']}/conversations/webchat:{session}/tracker",
                               timeout=30).json()["events"]
            trackers.append([e.get("text") for e in events if e.get("event") == "user"])
    assert all(any("编号" in t for t in answered[n][-1]) for n in answered), answered
    lost = duplicated = 0
    for talk in talks:
        (said,) = [t for t in trackers if talk[3] in t]
        counts = lost_and_duplicated(talk, said)
        lost, duplicated = lost + counts[0], duplicated + counts[1]
    logs = tmp_path / "var" / "log"
    noticed = sum(path.read_text(errors="replace").count("Connection refused")
                  for path in logs.glob("*.log"))
    report("Redis restarted during load", lost, duplicated + max(len(cases) - len(talks), 0),
           cases=len(cases), restarts=len(Gates.AT), answered_at_restarts=during,
           redis_refusals_logged=noticed, took_s=round(time.monotonic() - started))
    assert len(cases) == len(talks)
