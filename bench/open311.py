"""The Open311 door over HTTP at 100,000 cases, on SQLite and PostgreSQL (issue 14).
Targets: `GET requests/{id}` p95 ≤ 20 ms, `POST requests` ≥ 200 per second.

    make bench            # or: .venv/app/bin/python -m bench.open311 [--cases 100000]

The store (a temporary SQLite file, then a temporary PostgreSQL database, skipped when
unreachable unless CI=true) is filled by `bench.console.seed`, and every seeded case is given
its Open311 row, as if a city app had filed them all. The app runs in its own uvicorn process
(`bench.console_http`). The client times `GET requests/{id}.json` one at a time on a keep-alive
connection, then posts distinct FixMyStreet-shaped forms from `--concurrency` connections at
once and counts cases opened per second (the per-key rate limit raised for the run), and the
app process's CPU time per POST (steadier than the rate on a shared machine). A few posts go
first, uncounted: the first filing of a process trains the 12345 type model (seconds).

On PostgreSQL the same store is then served as `bot run --replicas N` serves it (`--replicas`,
default 2): N app processes behind HAProxy with the configuration bot/replicas.py writes, the
per-key rate limit counted in Redis (`--redis`, default TEST_REDIS_URL or db 15 on localhost).
Its CPU column is the sum over the N app processes (HAProxy's own is printed below the table).
SQLite is served by one process only: the product runs replicas on PostgreSQL alone. Skipped,
with the reason, when HAProxy or Redis is missing (unless CI=true).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psutil
from sqlalchemy import insert, select, text

from bench.cases import drop_postgres, postgres_url
from bench.console import seed
from bench.console_http import _App, _settings
from bench.push_latency import _free_port, _percentile
from bot import replicas as product_replicas
from bot.container import Container
from bot.open311.keys import ApiKeys
from bot.open311.models import clients, requests as o311_requests

GET_TARGET_MS = 20.0
POST_TARGET_PER_S = 200.0
BATCH = 5000
WARM_POSTS = 20


def _as_open311(container: Container, numbers: list[str]) -> str:
    """A client key, and an Open311 row for every seeded case."""
    key = ApiKeys(container.engine).create("bench-city-app", container.cases.clock())
    with container.engine.begin() as conn:
        client_id = conn.scalar(select(clients.c.id))
        now = container.cases.clock()
        for offset in range(0, len(numbers), BATCH):
            conn.execute(insert(o311_requests), [
                dict(case_number=n, client_id=client_id, token=str(uuid.uuid4()), fingerprint=n,
                     service_code="env.noise", lat=34.7, long=113.6, address_string="文化路",
                     created_at=now) for n in numbers[offset:offset + BATCH]])
    return key


def _gets(base: str, numbers: list[str], repeats: int) -> list[float]:
    rng = random.Random(14)
    samples = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for i in range(repeats + 10):
            number = rng.choice(numbers)
            t0 = time.perf_counter()
            response = client.get(f"/open311/v2/requests/{number}.json")
            elapsed = (time.perf_counter() - t0) * 1000
            assert response.status_code == 200, response.text[:200]
            if i >= 10:                       # the first requests warm the connection and caches
                samples.append(elapsed)
    return samples


async def _posts(base: str, key: str, total: int, concurrency: int,
                 first: int = 0) -> tuple[float, int]:
    """Cases opened per second by `total` distinct posts (numbered from `first`) from
    `concurrency` connections."""
    done = errors = 0
    queue = list(range(first, first + total))

    async def worker() -> None:
        nonlocal done, errors
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            while queue:
                i = queue.pop()
                response = await client.post("/open311/v2/requests.json", data={
                    "api_key": key, "service_code": "env.noise", "lat": "34.746611",
                    "long": "113.625328", "description": f"楼下烧烤店噪音扰民到凌晨，第{i}次反映",
                    "first_name": "芳", "last_name": "王", "phone": "13812345678",
                    "attribute[place]": f"{i % 40}号楼"})
                if response.status_code == 200:
                    done += 1
                else:
                    errors += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - t0), errors


class _Replicas:
    """N app processes behind HAProxy, configured as `bot run --replicas N` configures it, the
    rate limit in Redis (REDIS_URL, read by the spawned apps)."""

    def __init__(self, url: str, var: str, count: int, redis_url: str, haproxy: str) -> None:
        self.url, self.var, self.count, self.redis_url, self.haproxy = url, var, count, redis_url, haproxy

    def __enter__(self) -> "_Replicas":
        self._stack = contextlib.ExitStack()
        self._stack.enter_context(_environ(REDIS_URL=self.redis_url))
        self.apps = [self._stack.enter_context(_App(self.url, self.var)) for _ in range(self.count)]
        port = _free_port()
        cfg = Path(self.var) / "haproxy.cfg"
        cfg.write_text(product_replicas.haproxy_cfg(port, [a.port for a in self.apps], _free_port(), []),
                       encoding="utf-8")
        self.balancer = subprocess.Popen([self.haproxy, "-db", "-f", str(cfg)], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
        self._stack.callback(_stop, self.balancer)
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(self.base + "/livez", timeout=2).status_code == 200:
                    return self
            if time.monotonic() > deadline or self.balancer.poll() is not None:
                self._stack.close()
                raise RuntimeError("HAProxy did not start")
            time.sleep(0.2)

    def __exit__(self, *exc) -> None:
        self._stack.close()

    @property
    def pids(self) -> list[int]:
        return [a.process.pid for a in self.apps]


@contextlib.contextmanager
def _environ(**values: str):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


def _cpu_seconds(pids: list[int]) -> float:
    times = [psutil.Process(pid).cpu_times() for pid in pids]
    return sum(t.user + t.system for t in times)


def _measure(served, numbers: list[str], key: str, repeats: int, posts: int, concurrency: int,
             first: int, balancer: int | None = None) -> dict:
    """GETs one at a time, then `posts` POSTs numbered from `first` (after WARM_POSTS per app
    process) against a started `_App` or `_Replicas`."""
    pids = served.pids if isinstance(served, _Replicas) else [served.process.pid]
    samples = _gets(served.base, numbers, repeats)
    asyncio.run(_posts(served.base, key, WARM_POSTS * len(pids), concurrency, first=first + posts))
    before, lb_before = _cpu_seconds(pids), _cpu_seconds([balancer] if balancer else [])
    rate, errors = asyncio.run(_posts(served.base, key, posts, concurrency, first=first))
    cpu = (_cpu_seconds(pids) - before) * 1000 / posts
    found = {"get": samples, "post_rate": rate, "post_errors": errors, "post_cpu_ms": cpu}
    if balancer:
        found["balancer_cpu_ms"] = (_cpu_seconds([balancer]) - lb_before) * 1000 / posts
    return found


def replicas_missing(redis_url: str) -> str | None:
    """Why `--replicas` cannot be measured here, or None."""
    if product_replicas.haproxy_bin() is None:
        return "HAProxy not installed (scripts/system_deps.sh)"
    try:
        import redis

        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
    except Exception as exc:  # noqa: BLE001
        return f"Redis not reachable at {redis_url} ({exc.__class__.__name__})"
    return None


def run(url: str, count: int, repeats: int, posts: int, concurrency: int,
        replicas: int = 1, redis_url: str | None = None) -> list[tuple[str, dict]]:
    """(label, figures) of one process, then, when `replicas` > 1, of that many behind HAProxy."""
    with tempfile.TemporaryDirectory() as var:
        container = Container(_settings(url, var))
        container.upgrade()
        numbers = seed(container.engine, container.catalog, count)
        key = _as_open311(container, numbers)
        if container.engine.dialect.name == "postgresql":
            with container.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        container.engine.dispose()
        os.environ["OPEN311_RATE_PER_KEY"] = "1000000/minute"      # read by the spawned app
        with _App(url, var) as app:
            found = [("", _measure(app, numbers, key, repeats, posts, concurrency, first=0))]
        if replicas > 1:
            with _Replicas(url, var, replicas, redis_url, product_replicas.haproxy_bin()) as served:
                found.append((f" ×{replicas}", _measure(served, numbers, key, repeats, posts, concurrency,
                                                        first=10 * posts, balancer=served.balancer.pid)))
        return found


def report(count: int, tables: list[tuple[str, dict]]) -> bool:
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nOpen311 over HTTP ({count:,} cases; ms and requests/s; load average {load} on "
          f"{os.cpu_count()} CPUs)")
    print(f"{'database':<15}{'GET requests/{id} p50':>22}{'p95':>7}{'p99':>7}{'POST/s':>9}"
          f"{'errors':>8}{'app CPU ms/POST':>17}")
    ok = True
    for name, found in tables:
        p95 = _percentile(found["get"], 95)
        fine = p95 <= GET_TARGET_MS and found["post_rate"] >= POST_TARGET_PER_S and not found["post_errors"]
        ok &= fine
        print(f"{name:<15}{_percentile(found['get'], 50):>22.1f}{p95:>7.1f}"
              f"{_percentile(found['get'], 99):>7.1f}{found['post_rate']:>9.0f}{found['post_errors']:>8}"
              f"{found['post_cpu_ms']:>17.2f}  "
              f"{'OK' if fine else 'MISSED'} (p95 ≤ {GET_TARGET_MS:.0f} ms, ≥ {POST_TARGET_PER_S:.0f}/s)")
    for name, found in tables:
        if "balancer_cpu_ms" in found:
            print(f"{name}: HAProxy CPU {found['balancer_cpu_ms']:.2f} ms per POST besides the apps'")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--replicas", type=int, default=2,
                        help="PostgreSQL: also measure N app processes behind HAProxy (1: not)")
    parser.add_argument("--redis", default=os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/15",
                        help="the replicas' shared rate limit")
    args = parser.parse_args(argv)
    measure = (args.cases, args.repeats, args.posts, args.concurrency)
    tables = []
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as tmp:
            tables += [("SQLite" + label, found) for label, found in run(f"sqlite:///{tmp}/open311.db", *measure)]
    if args.only != "sqlite":
        pg = postgres_url()
        if pg is None and os.environ.get("CI") == "true":
            sys.exit("CI=true and PostgreSQL is unreachable: the Open311 benchmark needs it")
        replicas = args.replicas
        missing = replicas_missing(args.redis) if replicas > 1 else None
        if missing:
            if os.environ.get("CI") == "true":
                sys.exit(f"CI=true and --replicas {replicas} cannot run: {missing}")
            print(f"PostgreSQL with {replicas} replicas skipped: {missing}")
            replicas = 1
        if pg:
            try:
                tables += [("PostgreSQL" + label, found)
                           for label, found in run(pg, *measure, replicas=replicas, redis_url=args.redis)]
            finally:
                drop_postgres(pg)
    return 0 if report(args.cases, tables) else 1


if __name__ == "__main__":
    sys.exit(main())
