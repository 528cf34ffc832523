"""`bot run` under process faults: SIGKILL of a child whose own worker holds the port.

A SIGKILLed child cannot stop its workers; they stay in its process group and keep the port.
The supervisor must end that group before the restart, so the restarted child binds the port
again, and stopping must leave no process of any group behind.

First with stand-in children (each spawns a grandchild that binds a port, like Sanic's worker
manager does), then with the real action server and web app (slow).
"""
from __future__ import annotations

import os
import signal
import socket
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from bot.run import Child, Supervisor, group_members, plan
from bot.settings import Settings
from tests.web_support import free_port

RESTART_LIMIT = 15.0

# The worker binds the port (no SO_REUSEPORT: a second bind fails) and records its pid; it can
# be told to ignore SIGTERM, like a worker stuck in a request.
WORKER = textwrap.dedent("""
    import os, pathlib, signal, socket, sys, time
    port, marks, stubborn = int(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3] == "1"
    if stubborn:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        (marks / f"busy-{os.getpid()}").write_text(str(exc))
        sys.exit(98)
    sock.listen()
    (marks / f"worker-{os.getpid()}").write_text(str(os.getppid()))
    while True:
        time.sleep(1)
""")
MANAGER = textwrap.dedent("""
    import subprocess, sys, time
    worker = subprocess.Popen([sys.executable, "-c", sys.argv[1], *sys.argv[2:]])
    while worker.poll() is None:
        time.sleep(0.2)
    sys.exit(worker.returncode)
""")


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")


def workers(marks: Path) -> set[int]:
    return {int(p.name.split("-")[1]) for p in marks.glob("worker-*")}


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def drive(supervisor: Supervisor, until, timeout: float) -> float:
    """Run the supervisor's loop until `until()`; returns the seconds it took."""
    started = time.monotonic()
    while not until():
        assert time.monotonic() - started < timeout, "timed out"
        supervisor.check()
        time.sleep(0.1)
    return time.monotonic() - started


@pytest.fixture
def stand_ins(tmp_path, monkeypatch):
    monkeypatch.setattr("bot.run.ORPHAN_GRACE_SECONDS", 1.0)
    monkeypatch.setattr("bot.run.GRACE_SECONDS", 3.0)
    made = []
    for name, stubborn in (("rasa", False), ("actions", False), ("app", True), ("telegram", False)):
        marks = tmp_path / name
        marks.mkdir()
        port = free_port()
        made.append((Child(name, [sys.executable, "-c", MANAGER, WORKER, str(port), str(marks),
                                  "1" if stubborn else "0"]), port, marks))
    lines: list[str] = []
    supervisor = Supervisor([c for c, _, _ in made], tmp_path / "log", out=lines.append)
    yield supervisor, made, lines
    supervisor.stop()


def test_sigkill_of_each_child_restarts_it_on_its_port_and_stop_leaves_nothing(stand_ins):
    supervisor, made, lines = stand_ins
    for child, _, _ in made:
        supervisor.start(child)
    drive(supervisor, lambda: all(len(workers(m)) == 1 for _, _, m in made), 15)
    every_pid = {c.proc.pid for c, _, _ in made} | {p for _, _, m in made for p in workers(m)}
    for child, port, marks in made:
        (old_worker,) = workers(marks)
        leader = child.proc.pid
        os.kill(leader, signal.SIGKILL)       # the worker is orphaned and still holds the port
        took = drive(supervisor, lambda: len(workers(marks)) == 2 and child.proc.poll() is None, 30)
        assert took <= RESTART_LIMIT, f"{child.name} back after {took:.1f}s"
        assert not alive(old_worker) and not alive(leader)
        assert not list(marks.glob("busy-*")), (marks / next(marks.glob("busy-*")).name).read_text()
        assert not port_free(port)            # the new worker holds it
        assert child.restarts == 1
        every_pid |= {child.proc.pid} | workers(marks)
    assert any("结束其遗留的 1 个子进程" in line for line in lines), lines
    supervisor.stop()
    assert [pid for pid in every_pid if alive(pid)] == []
    assert all(group_members(c.proc.pid) == [] for c, _, _ in made)
    assert all(port_free(port) for _, port, _ in made)


def test_a_child_that_exits_by_itself_has_its_group_ended_too(stand_ins):
    supervisor, made, lines = stand_ins
    child, port, marks = made[2]              # its worker ignores SIGTERM: SIGKILL it is
    supervisor.start(child)
    drive(supervisor, lambda: len(workers(marks)) == 1, 15)
    (worker,) = workers(marks)
    os.kill(child.proc.pid, signal.SIGTERM)   # the manager exits; the worker ignores SIGTERM
    drive(supervisor, lambda: len(workers(marks)) == 2, 30)
    assert not alive(worker) and not list(marks.glob("busy-*"))


# ---------------------------------------------------------------------- the real children
@pytest.mark.slow
def test_real_action_server_and_app_come_back_after_sigkill(tmp_path, monkeypatch):
    """The processes `bot run` starts (Rasa aside: its model takes minutes to load here)."""
    ports = {"ACTION_PORT": str(free_port()), "APP_PORT": str(free_port()),
             "RASA_URL": f"http://127.0.0.1:{free_port()}"}
    env = {"BOT_VAR_DIR": str(tmp_path / "var"), "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
           "TELEGRAM_BOT_TOKEN": "", **ports}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"")
    settings = Settings.from_env()
    from bot.run import upgrade_database

    upgrade_database(settings)
    children = [c for c in plan(settings, {**os.environ, "RASA_MODEL": str(model),
                                           "RASA_BIN": sys.executable})
                if c.name in ("actions", "app")]
    supervisor = Supervisor(children, tmp_path / "log", out=lambda line: None)
    try:
        for child in children:
            supervisor.start(child)
        drive(supervisor, lambda: all(supervisor.healthy(c) for c in children), 120)
        tree = {c.name: group_members(c.proc.pid) for c in children}
        for child in children:
            leader = child.proc.pid
            os.kill(leader, signal.SIGKILL)
            took = drive(supervisor, lambda: child.proc.pid != leader and supervisor.healthy(child), 60)
            assert took <= RESTART_LIMIT, f"{child.name} healthy again after {took:.1f}s"
            assert group_members(leader) == [], f"{child.name}: its old group survived"
            tree[child.name] += group_members(child.proc.pid)
    finally:
        supervisor.stop()
    assert [pid for pids in tree.values() for pid in pids if alive(pid)] == []
    for port in (ports["ACTION_PORT"], ports["APP_PORT"]):
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)


# A stand-in for `rasa run`: answers /status on the port it is given, nothing else.
FAKE_RASA = textwrap.dedent("""\
    #!{python}
    import http.server, sys
    port = int(sys.argv[sys.argv.index("--port") + 1])

    class Status(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/status" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    http.server.HTTPServer(("127.0.0.1", port), Status).serve_forever()
""")


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == pid and fields[0] not in (b"Z", b"X"):
                found.append(int(entry.name))
    return found


def cmdline(pid: int) -> str:
    try:
        return (Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
    except OSError:
        return ""


@pytest.mark.slow
def test_bot_run_brings_a_sigkilled_action_server_back_and_stops_without_leftovers(tmp_path):
    """The real `bot run` command (Rasa replaced by a stand-in answering /status)."""
    import subprocess
    import threading

    from bot.settings import ROOT

    rasa = tmp_path / "rasa"
    rasa.write_text(FAKE_RASA.format(python=sys.executable))
    rasa.chmod(0o755)
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"")
    action_port, app_port = free_port(), free_port()
    env = {**os.environ, "BOT_VAR_DIR": str(tmp_path / "var"), "RASA_BIN": str(rasa),
           "RASA_MODEL": str(model), "DATABASE_URL": f"sqlite:///{tmp_path / 'cases.db'}",
           "RASA_URL": f"http://127.0.0.1:{free_port()}", "ACTION_PORT": str(action_port),
           "APP_PORT": str(app_port), "TELEGRAM_BOT_TOKEN": ""}
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run", "--timeout", "120"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    output: list[str] = []
    threading.Thread(target=lambda: output.extend(proc.stdout), daemon=True).start()
    health = f"http://127.0.0.1:{action_port}/health"

    def answers() -> bool:
        try:
            return httpx.get(health, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        deadline = time.monotonic() + 150
        while not any("Ctrl-C" in line for line in output):
            assert proc.poll() is None and time.monotonic() < deadline, "".join(output)
            time.sleep(0.3)
        children = children_of(proc.pid)
        tree = set(children) | {p for c in children for p in group_members(c)}
        (actions,) = [c for c in children if "rasa_sdk" in cmdline(c)]
        assert len(group_members(actions)) > 1, "the action server has no worker processes"
        os.kill(actions, signal.SIGKILL)
        killed = time.monotonic()

        def restarted() -> bool:
            return any("rasa_sdk" in cmdline(c) for c in children_of(proc.pid) if c != actions)

        while not (restarted() and answers()):
            assert time.monotonic() - killed < RESTART_LIMIT, "".join(output)
            time.sleep(0.2)
        assert group_members(actions) == [], "the old workers survived"
        children = children_of(proc.pid)
        tree |= set(children) | {p for c in children for p in group_members(c)}
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
    text = "".join(output)
    assert code == 0 and "已全部停止" in text, text
    assert "Address already in use" not in Path(tmp_path / "var" / "log" / "actions.log").read_text()
    assert [pid for pid in tree if alive(pid)] == []


RASA_RESTART_LIMIT = 45.0   # loading the model alone takes ~13 s on a quiet 2-core machine


@pytest.mark.slow
@pytest.mark.rasa
def test_sigkill_of_each_real_child_under_bot_run(tmp_path):
    """The whole product with the trained model: Rasa, the action server and the web app are
    SIGKILLed one after another; each answers its health check again (measured here: Rasa
    14.4 s, actions 4.8 s, app 3.2 s), its old group is gone, and SIGTERM stops everything."""
    from bot.run import model_path
    from tests.web_support import product

    if not model_path().is_file():
        pytest.skip(f"no trained model at {model_path()}: run `make model`")
    with product(tmp_path) as (base, env, output, state):
        rasa_port, action_port, app_port = state["ports"]
        bot = state["proc"].pid
        doors = [("rasa run", f"http://127.0.0.1:{rasa_port}/status", RASA_RESTART_LIMIT),
                 ("rasa_sdk", f"http://127.0.0.1:{action_port}/health", RESTART_LIMIT),
                 ("bot.web.serve", f"http://127.0.0.1:{app_port}/livez", RESTART_LIMIT)]
        tree: set[int] = set()
        for needle, url, limit in doors:
            (leader,) = [c for c in children_of(bot) if needle in cmdline(c)]
            tree |= set(group_members(leader))
            os.kill(leader, signal.SIGKILL)
            killed = time.monotonic()
            while True:
                new = [c for c in children_of(bot) if needle in cmdline(c) and c != leader]
                try:
                    if new and httpx.get(url, timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() - killed < limit, f"{needle} not back:\n" + "".join(output)
                time.sleep(0.2)
            assert group_members(leader) == [], f"{needle}: its old group survived"
            tree |= {p for c in new for p in group_members(c)}
    assert state["code"] == 0 and "已全部停止" in "".join(output)
    assert [pid for pid in tree if alive(pid)] == []
