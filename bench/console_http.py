"""The console's real HTTP answers at 100,000 cases, per role, on SQLite and PostgreSQL.
Target: p95 ≤ 200 ms for every page and API call the queue and case pages make (issue 11).

    make bench            # or: .venv/app/bin/python -m bench.console_http [--cases 100000]

The store (a temporary SQLite file, then a temporary PostgreSQL database; PostgreSQL is
skipped when unreachable, unless CI=true) is filled by `bench.console.seed`. The app is then
served by uvicorn on 127.0.0.1 in its own process (as `bot run` does; without the background
loops, whose first watchdog pass would otherwise escalate the seeded backlog during the
measurement). One staff member per role logs in over HTTP and the client times, one request
at a time on a keep-alive connection: the queue page (`/console`, then
`/api/staff/cases?queue=…` over every queue), the case page (`/console/cases/{n}`,
`/api/staff/cases/{n}`, its similar cases, templates and attachments) and the search
(`/api/staff/cases?q=…`). Beside p50/p95/p99 of the wall clock it prints the mean CPU ms a
request costs the app process and its PostgreSQL backends, which a busy machine does not
inflate, and the load average.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from urllib.parse import quote

import httpx
import psutil
from sqlalchemy import create_engine, text

from bench.cases import drop_postgres, postgres_url
from bench.console import PHRASES, ROLES, seed
from bench.push_latency import _free_port, _percentile
from bot.cases.queries import QUEUES
from bot.container import Container
from bot.settings import Settings

TARGET_MS = 200.0
PASSWORD = "基准测试-长密码-2026"
# (label, path template); {queue}, {number} and {words} are filled per request
ENDPOINTS = [
    ("GET /console", "/console"),
    ("GET /api/staff/cases?queue=…", "/api/staff/cases?queue={queue}"),
    ("GET /console/cases/{n}", "/console/cases/{number}"),
    ("GET /api/staff/cases/{n}", "/api/staff/cases/{number}"),
    ("GET /api/staff/cases/{n}/similar", "/api/staff/cases/{number}/similar"),
    ("GET /api/staff/cases/{n}/templates", "/api/staff/cases/{number}/templates"),
    ("GET /api/staff/cases/{n}/attachments", "/api/staff/cases/{number}/attachments"),
    ("GET /api/staff/cases?q=…", "/api/staff/cases?q={words}"),
]


def _settings(url: str, var: str) -> Settings:
    return Settings.from_env({**os.environ, "DATABASE_URL": url, "BOT_VAR_DIR": var,
                              "RASA_URL": "http://127.0.0.1:9"})


def _serve(url: str, var: str, port: int) -> None:
    """The app process: create_app over the seeded store, uvicorn on 127.0.0.1:port."""
    import uvicorn

    from bot.web.app import create_app

    app = create_app(Container(_settings(url, var)))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


class _Cpu:
    """CPU seconds the app process and (on PostgreSQL) its database backends have used: the
    work a request costs, whatever else the machine is doing (ticks of 10 ms, so only a
    mean over many requests is meaningful)."""

    def __init__(self, app_pid: int, url: str) -> None:
        self.app = psutil.Process(app_pid)
        self.pg = create_engine(url) if url.startswith("postgresql") else None
        self.backends: list[psutil.Process] = []

    def refresh(self) -> None:
        if self.pg is None:
            return
        with self.pg.connect() as conn:
            pids = conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = "
                                     "current_database() AND pid <> pg_backend_pid()")).all()
        self.backends = [psutil.Process(pid) for pid in pids if psutil.pid_exists(pid)]

    def seconds(self) -> float:
        total = 0.0
        for proc in (self.app, *self.backends):
            try:
                times = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def close(self) -> None:
        if self.pg is not None:
            self.pg.dispose()


class _App:
    """The app in a child process (spawned: no engine or thread crosses a fork)."""

    def __init__(self, url: str, var: str) -> None:
        self.port = _free_port()
        self.process = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(url, var, self.port), daemon=True)

    def __enter__(self) -> "_App":
        self.process.start()
        base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/console/login", timeout=2)
                self.base = base
                return self
            except httpx.TransportError:
                if not self.process.is_alive():
                    break
                time.sleep(0.2)
        raise RuntimeError("the app did not start")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.join(10)


def _add_staff(container: Container) -> None:
    for staff in ROLES.values():
        container.staff.add(staff.username, staff.role.value, PASSWORD,
                            agent_code=staff.agent_code, body_code=staff.body_code)


def _login(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30, follow_redirects=False)
    client.post("/api/staff/login", json={"username": username, "password": PASSWORD}
                ).raise_for_status()
    return client


def _visible(client: httpx.Client) -> list[str]:
    r = client.get("/api/staff/cases", params={"per_page": 100})
    r.raise_for_status()
    return [item["number"] for item in r.json()["items"]]


def measure(base: str, repeats: int, cpu: _Cpu) -> dict[str, dict[str, tuple | None]]:
    """Per role and endpoint: (`repeats` timings in ms, mean CPU ms per request), or None
    when the role may not call it."""
    queues = list(QUEUES)
    results: dict[str, dict[str, tuple | None]] = {}
    for role, staff in ROLES.items():
        client = _login(base, staff.username)
        numbers = _visible(client)
        results[role] = {}
        for label, template in ENDPOINTS:
            if "{number}" in template and not numbers:
                results[role][label] = None
                continue

            def path(i: int) -> str:
                return template.format(queue=queues[i % len(queues)],
                                       number=quote(numbers[i % len(numbers)] if numbers else ""),
                                       words=quote(PHRASES[i % len(PHRASES)][:4]))

            status = client.get(path(0)).status_code        # warm-up, and is it allowed?
            if status in (403, 404):
                results[role][label] = None
                continue
            samples = []
            cpu.refresh()
            cpu0 = cpu.seconds()
            for i in range(repeats):
                t0 = time.perf_counter()
                r = client.get(path(i))
                samples.append((time.perf_counter() - t0) * 1000)
                if r.status_code != 200:
                    raise RuntimeError(f"{role} {path(i)}: {r.status_code} {r.text[:200]}")
            results[role][label] = samples, (cpu.seconds() - cpu0) * 1000 / repeats
        client.close()
    return results


def run(url: str, count: int, repeats: int) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as var:
        container = Container(_settings(url, var))
        container.upgrade()
        t0 = time.perf_counter()
        seed(container.engine, container.catalog, count)
        seed_s = time.perf_counter() - t0
        _add_staff(container)
        if container.engine.dialect.name == "postgresql":
            # what autovacuum does after a bulk load; SQLite stays as the app leaves it (the
            # app never runs ANALYZE there)
            with container.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        container.engine.dispose()
        with _App(url, var) as app:
            cpu = _Cpu(app.process.pid, url)
            try:
                return seed_s, measure(app.base, repeats, cpu)
            finally:
                cpu.close()


def report(count: int, repeats: int, tables: list[tuple[str, float, dict]]) -> bool:
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nConsole over HTTP ({count:,} cases, {repeats} requests each, one at a time; ms; "
          f"load average {load} on {os.cpu_count()} CPUs)")
    print(f"{'database':<11}{'role':<11}{'request':<39}{'p50':>7}{'p95':>7}{'p99':>7}"
          f"{'cpu':>7}  p95 ≤ {TARGET_MS:.0f}")
    ok = True
    for name, seed_s, results in tables:
        for role, rows in results.items():
            for label, found in rows.items():
                if found is None:
                    print(f"{name:<11}{role:<11}{label:<39}{'(not allowed for this role)':>21}")
                    continue
                samples, cpu_ms = found
                p95 = _percentile(samples, 95)
                ok &= p95 <= TARGET_MS
                print(f"{name:<11}{role:<11}{label:<39}{_percentile(samples, 50):>7.1f}"
                      f"{p95:>7.1f}{_percentile(samples, 99):>7.1f}{cpu_ms:>7.1f}  "
                      f"{'OK' if p95 <= TARGET_MS else 'MISSED'}")
        print(f"{'':<11}(seeded in {seed_s:.1f} s)")
    print("cpu: mean CPU ms per request of the app process and its PostgreSQL backends "
          "(the request's own cost, unlike the wall-clock percentiles on a busy machine)")
    print("all p95 within target" if ok else "some p95 MISSED the target")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args(argv)
    tables = []
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as tmp:
            tables.append(("SQLite", *run(f"sqlite:///{tmp}/console.db", args.cases, args.repeats)))
    if args.only != "sqlite":
        pg = postgres_url()
        if pg is None and os.environ.get("CI") == "true":
            sys.exit("CI=true and PostgreSQL is unreachable: the console benchmark needs it")
        if pg:
            try:
                tables.append(("PostgreSQL", *run(pg, args.cases, args.repeats)))
            finally:
                drop_postgres(pg)
    return 0 if report(args.cases, args.repeats, tables) else 1


if __name__ == "__main__":
    sys.exit(main())
