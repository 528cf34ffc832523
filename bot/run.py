"""`bot run`: the whole product as one supervised command.

Children, each in its own process group, output in var/log/<name>.log:
- rasa     the Rasa server (Python 3.10 env) with endpoints/credentials written to var/rasa/
- actions  the action server (rasa_sdk, this env)
- app      web chat + API (uvicorn); it also runs the notifier (outbox → webchat, Telegram
           or log), the watchdog and the retry of kept messages (see bot/web/background.py)
- telegram the Telegram adapter, when TELEGRAM_BOT_TOKEN is set and `bot telegram` exists

It waits for health, prints the URLs, restarts a crashed child with backoff and stops
everything on Ctrl-C / SIGTERM (SIGTERM to each group, SIGKILL after a grace period).

A child's own children (Sanic's worker processes, for one) stay in its process group. When a
child dies — even by SIGKILL, which gives it no chance to stop its workers — the supervisor
ends the rest of its group before the restart: an orphaned worker would otherwise keep the
port, and every restart would fail with "Address already in use".
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import click

from bot import replicas
from bot.settings import ROOT, Settings

GRACE_SECONDS = 15.0
ORPHAN_GRACE_SECONDS = 5.0  # the rest of a dead child's group: SIGTERM, then SIGKILL
MAX_BACKOFF = 60.0
STABLE_SECONDS = 60.0       # a child up this long has its backoff reset


class RunError(Exception):
    """A reason not to start, in Chinese and English."""


@dataclass
class Child:
    name: str
    argv: list[str]
    health_url: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    more_health: tuple[str, ...] = ()      # further URLs that must answer 200 too
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff: float = 1.0
    restart_at: float | None = None


# ---------------------------------------------------------------------- Rasa configuration
def endpoints_yaml(settings: Settings, shared: bool = False) -> str:
    """`shared` (several Rasa replicas): trackers on Redis, which every replica reads."""
    rasa_dir = settings.var_dir / "rasa"
    lines = ["# Written by `bot run` from the environment (.env); edit that, not this file.",
             "action_endpoint:",
             f'  url: "http://127.0.0.1:{settings.action_port}/webhook"']
    if shared:
        return "\n".join(lines + replicas.redis_yaml(settings)) + "\n"
    lines += ["tracker_store:",   # Rasa's SQL store; on SQLite without a flush per message
              "  type: rasa_tools.tracker_store.LocalSQLTrackerStore",
              "  dialect: sqlite",
              f'  db: "{(rasa_dir / "tracker.db").resolve()}"']
    if settings.redis_url:
        lines += replicas.redis_yaml(settings, tracker=False)
    return "\n".join(lines) + "\n"


# Rasa's REST channel, answering 503 for a turn that missed the action server (rasa_tools/rest.py)
CREDENTIALS_YAML = ("# Written by `bot run`: channels reach Rasa through its REST channel.\n"
                    "rasa_tools.rest.RestInput:\n")


def write_rasa_config(settings: Settings, shared: bool = False) -> tuple[Path, Path]:
    rasa_dir = settings.var_dir / "rasa"
    rasa_dir.mkdir(parents=True, exist_ok=True)
    endpoints, credentials = rasa_dir / "endpoints.yml", rasa_dir / "credentials.yml"
    endpoints.write_text(endpoints_yaml(settings, shared), encoding="utf-8")
    credentials.write_text(CREDENTIALS_YAML, encoding="utf-8")
    return endpoints, credentials


# ---------------------------------------------------------------------- the children
def model_path(environ=os.environ) -> Path:
    return Settings.from_env(dict(environ)).rasa_model


def plan(settings: Settings, environ=os.environ, replica_count: int = 0) -> list[Child]:
    """The children for these settings; raises RunError when something is missing.

    `replica_count` N ≥ 1: N Rasa and N app processes behind HAProxy (bot/replicas.py)."""
    model = model_path(environ)
    if not model.is_file():
        raise RunError(f"找不到对话模型 {_rel(model)}，请先运行 make model（make run 会自动构建）。\n"
                       f"Model {_rel(model)} is missing: run `make model` first "
                       "(`make run` builds it).")
    rasa_bin = Path(environ.get("RASA_BIN") or ROOT / ".venv" / "rasa" / "bin" / "rasa")
    if not rasa_bin.exists():
        raise RunError(f"找不到 Rasa 环境（{_rel(rasa_bin)}），请先运行 make deps。\n"
                       "The Rasa environment is missing: run `make deps`.")
    haproxy = replicas.check(settings, replica_count) if replica_count else None
    rasa = urlparse(settings.rasa_url)
    rasa_port = rasa.port or 5005
    endpoints, credentials = write_rasa_config(settings, shared=bool(replica_count))
    python = sys.executable

    def rasa_child(name: str, port: int, host: str) -> Child:
        return Child(name, [str(rasa_bin), "run", "--enable-api", "-m", str(model),
                            "--port", str(port), "-i", host,
                            "--cors", "*", "--endpoints", str(endpoints),
                            "--credentials", str(credentials)],
                     health_url=f"http://127.0.0.1:{port}/status",
                     env={"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"})

    def app_child(name: str, port: int, host: str) -> Child:
        # Rasa loads its model while the app already serves: a message sent meanwhile
        # waits for it (RASA_STARTUP_WAIT) instead of being told the system is busy.
        return Child(name, [python, "-m", "bot.web.serve"],
                     health_url=f"http://127.0.0.1:{port}/livez",
                     env={"APP_HOST": host, "APP_PORT": str(port),
                          "RASA_STARTUP_WAIT": environ.get("RASA_STARTUP_WAIT") or "600"})

    app_host = environ.get("APP_HOST") or "127.0.0.1"
    children = [
        rasa_child("rasa", rasa_port, rasa.hostname or "127.0.0.1"),
        # rasa_sdk binds to SANIC_HOST, 0.0.0.0 (every interface) when unset: loopback
        # unless ACTION_HOST says otherwise.
        Child("actions", [python, "-m", "rasa_sdk", "--actions", "actions",
                          "--port", str(settings.action_port), "--endpoints", str(endpoints)],
              health_url=f"http://127.0.0.1:{settings.action_port}/health",
              env={"SANIC_HOST": environ.get("ACTION_HOST") or "127.0.0.1", "WARM_MODELS": "1"}),
        app_child("app", settings.app_port, app_host),
    ]
    if settings.telegram_bot_token and _has_command("telegram"):
        bot_bin = Path(python).with_name("bot")
        argv = [str(bot_bin), "telegram"] if bot_bin.exists() else [python, "-m", "bot.cli", "telegram"]
        children.append(Child("telegram", argv))
    if haproxy:
        actions = children[1]
        rasa_ports = replicas.ports(rasa_port, replica_count)
        app_ports = replicas.ports(settings.app_port, replica_count)
        cfg = settings.var_dir / "haproxy.cfg"
        cfg.write_text(replicas.haproxy_cfg(settings.app_port, app_ports, rasa_port, rasa_ports,
                                            listen=app_host), encoding="utf-8")
        children = [
            *(rasa_child(f"rasa{i + 1}", p, "127.0.0.1") for i, p in enumerate(rasa_ports)),
            actions, *children[3:],
            *(app_child(f"app{i + 1}", p, "127.0.0.1") for i, p in enumerate(app_ports)),
            # ready once it reaches an app and a Rasa replica
            Child("haproxy", [haproxy, "-db", "-f", str(cfg)],
                  health_url=f"http://127.0.0.1:{settings.app_port}/livez",
                  more_health=(f"http://127.0.0.1:{rasa_port}/status",)),
        ]
    return children


def _has_command(name: str) -> bool:
    from bot.cli import main

    return name in main.commands


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _port_busy(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _die_with_parent() -> None:
    """Runs in the child before exec: its own group, and SIGTERM if the supervisor dies."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


# ---------------------------------------------------------------------- the supervisor
class Supervisor:
    def __init__(self, children: list[Child], log_dir: Path, *, out=None) -> None:
        self.children = children
        self.log_dir = log_dir
        self.stopping = False
        self.out = out or (lambda line: click.echo(line))

    def start(self, child: Child) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{child.name}.log", "ab")
        log.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} start {' '.join(child.argv)}\n"
                  .encode())
        log.flush()
        child.proc = subprocess.Popen(
            child.argv, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1", **child.env},
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_die_with_parent)
        log.close()
        child.started_at = time.monotonic()
        child.restart_at = None

    def check(self) -> None:
        """Restart children that exited, with backoff (1 s doubling to 60 s)."""
        now = time.monotonic()
        for child in self.children:
            if child.proc is None or self.stopping:
                continue
            code = child.proc.poll()
            if code is None:
                if now - child.started_at > STABLE_SECONDS:
                    child.backoff = 1.0
                continue
            if child.restart_at is None:
                self.out(f"[{child.name}] 意外退出（退出码 {code}），{child.backoff:g} 秒后重启 "
                         f"(exited with {code}; restarting in {child.backoff:g}s). "
                         f"日志 log: {_rel(self.log_dir / (child.name + '.log'))}")
                for line in self.tail(child):
                    self.out(f"    {line}")
                self.end_orphans(child)
                child.restart_at = time.monotonic() + child.backoff
                child.backoff = min(child.backoff * 2, MAX_BACKOFF)
            elif now >= child.restart_at:
                if group_members(child.proc.pid):      # should not happen: make sure
                    end_group(child.proc.pid, 0.0)
                child.restarts += 1
                self.start(child)

    def end_orphans(self, child: Child) -> None:
        """End what is left of a dead child's process group, so its restart finds the port free."""
        left = group_members(child.proc.pid)
        if not left:
            return
        ended = end_group(child.proc.pid, ORPHAN_GRACE_SECONDS)
        self.out(f"[{child.name}] 结束其遗留的 {len(left)} 个子进程"
                 f"{'' if ended else '（仍有进程未退出）'} "
                 f"(ended {len(left)} orphaned process(es) of its group{'' if ended else '; some remain'})")

    def tail(self, child: Child, lines: int = 5) -> list[str]:
        path = self.log_dir / f"{child.name}.log"
        try:
            text = path.read_bytes()[-4000:].decode("utf-8", "replace")
        except OSError:
            return []
        return [line for line in text.splitlines() if line.strip()][-lines:]

    def healthy(self, child: Child) -> bool:
        if child.proc is None or child.proc.poll() is not None:
            return False
        if child.health_url is None:
            return True
        import httpx

        try:
            return all(httpx.get(url, timeout=2).status_code == 200
                       for url in (child.health_url, *child.more_health))
        except httpx.HTTPError:
            return False

    def wait_healthy(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        waiting = {c.name for c in self.children}
        while waiting and not self.stopping:
            for child in self.children:
                if child.name in waiting and self.healthy(child):
                    waiting.discard(child.name)
                    self.out(f"  ✓ {child.name} 已就绪 (ready, "
                             f"{time.monotonic() - (deadline - timeout):.1f}s)")
            if not waiting:
                return True
            if time.monotonic() > deadline:
                self.out(f"等待超时，仍未就绪：{', '.join(sorted(waiting))} "
                         f"(not healthy after {timeout:g}s; see var/log/)")
                return False
            self.check()
            time.sleep(0.5)
        return not waiting

    def stop(self) -> None:
        """SIGTERM to every child's whole group, SIGKILL after GRACE_SECONDS; returns when no
        process of any group is left."""
        self.stopping = True
        started = [c for c in reversed(self.children) if c.proc is not None]
        for child in started:
            if group_members(child.proc.pid):
                _signal_group(child.proc, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        for child in started:
            leader_done = _wait_leader(child.proc, deadline)
            if leader_done and wait_group_empty(child.proc.pid, deadline - time.monotonic()):
                continue
            self.out(f"[{child.name}] 未在 {GRACE_SECONDS:g} 秒内退出，强制结束 (killed)")
            _signal_group(child.proc, signal.SIGKILL)
            _wait_leader(child.proc, time.monotonic() + 5)
            wait_group_empty(child.proc.pid, 5.0)

    def run(self, timeout: float, banner) -> int:
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        started = time.monotonic()
        try:
            for child in self.children:
                self.start(child)
            if not self.wait_healthy(timeout):
                return 0 if self.stopping else 1
            banner(time.monotonic() - started)
            while not self.stopping:
                self.check()
                time.sleep(0.5)
            return 0
        finally:
            self.out("正在停止… (stopping)")
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.out("已全部停止 (all stopped)")

    def _on_signal(self, signum, frame) -> None:
        self.stopping = True


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _wait_leader(proc: subprocess.Popen, deadline: float) -> bool:
    try:
        proc.wait(max(deadline - time.monotonic(), 0.1))
        return True
    except subprocess.TimeoutExpired:
        return False


def group_members(pgid: int) -> list[int]:
    """The live processes (zombies left out) of process group `pgid`."""
    try:
        entries = os.listdir("/proc")
    except OSError:                      # no /proc: ask the kernel whether the group exists
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        except PermissionError:
            pass
        return [pgid]
    members = []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()    # state ppid pgrp …, after "(comm)"
        if len(fields) > 2 and fields[0] not in (b"Z", b"X") and int(fields[2]) == pgid:
            members.append(int(entry))
    return members


def wait_group_empty(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + max(timeout, 0.0)
    while group_members(pgid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def end_group(pgid: int, grace: float) -> bool:
    """SIGTERM to the whole group, SIGKILL to what is left after `grace` seconds. True when
    no process of the group remains."""
    if not group_members(pgid):
        return True
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        if wait_group_empty(pgid, wait):
            return True
    return False


def print_banner(settings: Settings, children: list[Child], seconds: float) -> None:
    app = f"http://127.0.0.1:{settings.app_port}"
    names = {c.name for c in children}
    count = sum(1 for c in children if c.name.startswith("rasa") and c.name != "rasa")
    lines = [
        "",
        f"件件有着落 已启动，用时 {seconds:.1f} 秒 (ready in {seconds:.1f}s)",
        f"  居民网页聊天 Web chat      {app}/chat",
        f"  来电受理     Hotline intake {app}/intake",
        f"  健康检查     Health        {app}/healthz",
        f"  Rasa 服务    Rasa server   {settings.rasa_url}",
        f"  动作服务     Action server http://127.0.0.1:{settings.action_port}",
        "  Telegram     " + ("已接入 (adapter running)" if "telegram" in names else
                            "未启用：设置 TELEGRAM_BOT_TOKEN 后接入 (set TELEGRAM_BOT_TOKEN to enable)"),
        *([f"  副本         Replicas      {count} × Rasa、{count} × 网页服务，经 HAProxy 负载均衡 "
           f"(behind HAProxy; logs rasaN.log / appN.log)"] if count else []),
        f"  日志         Logs          {_rel(settings.var_dir / 'log')}/",
        "按 Ctrl-C 停止 (press Ctrl-C to stop)",
    ]
    click.echo("\n".join(lines))


def upgrade_database(settings: Settings) -> None:
    """Bring the schema to the newest revision first (idempotent): a new DATABASE_URL must not
    start a product whose every request fails on a missing table."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.container import Container

    container = Container(settings)
    try:
        container.upgrade()
    except SQLAlchemyError as exc:
        url = container.engine.url.render_as_string(hide_password=True)
        raise RunError(f"无法连接或升级数据库 {url}，请检查 DATABASE_URL。\n"
                       f"Cannot reach or upgrade the database: {type(exc).__name__}") from None
    finally:
        container.engine.dispose()


@click.command("run")
@click.option("--timeout", default=240.0, show_default=True,
              help="Seconds to wait for every part to become healthy.")
@click.option("--replicas", "replica_count", default=0, type=int, metavar="N",
              help="N Rasa servers and N app processes behind HAProxy (needs DATABASE_URL on "
                   "PostgreSQL and REDIS_URL); 0, the default, runs one of each, no balancer.")
def run_command(timeout: float, replica_count: int) -> None:
    """Run everything: Rasa, action server, web chat + API, notifier, watchdog (+ Telegram)."""
    settings = Settings.from_env()
    try:
        try:
            children = plan(settings, replica_count=replica_count)
        except replicas.ReplicaError as exc:
            raise RunError(str(exc)) from None
        rasa_port = urlparse(settings.rasa_url).port or 5005
        wanted = [rasa_port, settings.action_port, settings.app_port]
        if replica_count:
            wanted += (replicas.ports(rasa_port, replica_count)
                       + replicas.ports(settings.app_port, replica_count))
        busy = [p for p in wanted if _port_busy(p)]
        if busy:
            raise RunError(f"端口 {', '.join(map(str, busy))} 已被占用，可能已有一份在运行；"
                           "请先停止它，或在 .env 中改用其他端口 (RASA_URL / ACTION_PORT / APP_PORT)。\n"
                           f"Port(s) {', '.join(map(str, busy))} already in use.")
        upgrade_database(settings)
    except RunError as exc:
        click.echo(f"错误：{exc}", err=True)
        sys.exit(2)
    click.echo("正在启动 Rasa、动作服务、网页聊天和通知服务… (starting; the first start of Rasa "
               "can take a minute)")
    supervisor = Supervisor(children, settings.var_dir / "log")
    sys.exit(supervisor.run(timeout, lambda s: print_banner(settings, children, s)))
