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
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
import uuid

import httpx
import psutil
from sqlalchemy import insert, select, text

from bench.cases import drop_postgres, postgres_url
from bench.console import seed
from bench.console_http import _App, _settings
from bench.push_latency import _percentile
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


def run(url: str, count: int, repeats: int, posts: int, concurrency: int) -> dict:
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
            samples = _gets(app.base, numbers, repeats)
            asyncio.run(_posts(app.base, key, WARM_POSTS, concurrency, first=posts))
            served = psutil.Process(app.process.pid)
            before = served.cpu_times()
            rate, errors = asyncio.run(_posts(app.base, key, posts, concurrency))
            after = served.cpu_times()
        cpu = (after.user + after.system - before.user - before.system) * 1000 / posts
        return {"get": samples, "post_rate": rate, "post_errors": errors, "post_cpu_ms": cpu}


def report(count: int, tables: list[tuple[str, dict]]) -> bool:
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nOpen311 over HTTP ({count:,} cases; ms and requests/s; load average {load} on "
          f"{os.cpu_count()} CPUs)")
    print(f"{'database':<11}{'GET requests/{id} p50':>22}{'p95':>7}{'p99':>7}{'POST/s':>9}"
          f"{'errors':>8}{'app CPU ms/POST':>17}")
    ok = True
    for name, found in tables:
        p95 = _percentile(found["get"], 95)
        fine = p95 <= GET_TARGET_MS and found["post_rate"] >= POST_TARGET_PER_S and not found["post_errors"]
        ok &= fine
        print(f"{name:<11}{_percentile(found['get'], 50):>22.1f}{p95:>7.1f}"
              f"{_percentile(found['get'], 99):>7.1f}{found['post_rate']:>9.0f}{found['post_errors']:>8}"
              f"{found['post_cpu_ms']:>17.2f}  "
              f"{'OK' if fine else 'MISSED'} (p95 ≤ {GET_TARGET_MS:.0f} ms, ≥ {POST_TARGET_PER_S:.0f}/s)")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args(argv)
    measure = (args.cases, args.repeats, args.posts, args.concurrency)
    tables = []
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as tmp:
            tables.append(("SQLite", run(f"sqlite:///{tmp}/open311.db", *measure)))
    if args.only != "sqlite":
        pg = postgres_url()
        if pg is None and os.environ.get("CI") == "true":
            sys.exit("CI=true and PostgreSQL is unreachable: the Open311 benchmark needs it")
        if pg:
            try:
                tables.append(("PostgreSQL", run(pg, *measure)))
            finally:
                drop_postgres(pg)
    return 0 if report(args.cases, tables) else 1


if __name__ == "__main__":
    sys.exit(main())
