"""Benchmark of the case store: opens per second and status-lookup latency at 100k cases.

    make bench            # or: .venv/app/bin/python -m bench.cases [--cases 100000]

Runs on SQLite (a fresh file under var/bench/) and on PostgreSQL when reachable
(TEST_POSTGRES_URL or 127.0.0.1:5432). The store is first filled with bulk inserts of
realistic rows (each case with its two events and two outbox rows); then the measured
opens go through the real CaseService, one transaction each, as the product does.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import statistics
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, text

from bot.cases import OpenCase
from bot.cases.models import CaseRow, EventRow, OutboxRow
from bot.container import Container
from bot.settings import ROOT, Settings

CATEGORIES = ["env.noise", "urban.property", "urban.water_supply", "labor.wage_arrears",
              "transport.parking", "market.food_safety"]
AREAS = ["S1P1G1", "S1P2G1", "S2P1G2", "S3P1G1", "S4P2G1"]


def seed(container: Container, count: int) -> list[str]:
    """Bulk-insert `count` whole cases dated in the past; return their numbers."""
    catalog, rng = container.catalog, random.Random(7)
    start = datetime(2025, 1, 1)
    numbers, batch = [], 5000
    with container.engine.begin() as conn:
        for offset in range(0, count, batch):
            cases = []
            for i in range(offset, min(offset + batch, count)):
                created = start + timedelta(minutes=5 * i)
                day = created.strftime("%Y%m%d")
                number = f"B{day}-{i % 288 + 1:04d}"
                category = rng.choice(CATEGORIES)
                area = rng.choice(AREAS)
                route = catalog.route(category, area)
                cases.append(dict(number=number, kind="demand", category_code=category,
                                  area_code=area, body_code=route.body.code,
                                  agent_code=route.agent.code, tier="point", state="assigned",
                                  text="批量基准数据", summary="批量基准数据", channel="sms",
                                  address="13800000000", created_at=created, updated_at=created,
                                  due_at=created + timedelta(days=7), event_count=2))
                numbers.append(number)
            ids = conn.execute(insert(CaseRow).returning(CaseRow.id, sort_by_parameter_order=True),
                               cases).scalars().all()
            events = []
            for case_id, row in zip(ids, cases):
                for seq, (action, frm, to) in enumerate([("open", None, "received"),
                                                         ("assign", "received", "assigned")], 1):
                    events.append(dict(case_id=case_id, seq=seq, at=row["created_at"], actor="bench",
                                       action=action, from_state=frm, to_state=to,
                                       body_code=row["body_code"], agent_code=row["agent_code"],
                                       public_text="基准", data={}))
            event_ids = conn.execute(insert(EventRow).returning(EventRow.id, EventRow.case_id,
                                                                sort_by_parameter_order=True),
                                     events).all()
            conn.execute(insert(OutboxRow), [
                dict(case_id=case_id, event_id=event_id, channel="sms", address="13800000000",
                     text="基准", status="sent", tries=1, next_attempt_at=start, created_at=start,
                     inline=False) for event_id, case_id in event_ids])
    return numbers


def _open_many(url: str, var: str, worker: int, count: int, barrier, done) -> None:
    container = Container(Settings.from_env({**os.environ, "DATABASE_URL": url, "BOT_VAR_DIR": var}))
    service = container.cases
    barrier.wait()
    t0 = time.perf_counter()
    for i in range(count):
        service.open_case(OpenCase(text=f"并发基准{worker}-{i}：路灯不亮", category="urban.municipal_facility",
                                   area="S2P1G1", channel="webchat", address=f"w{worker}-{i}"))
    done.put(time.perf_counter() - t0)


def concurrent_open_rate(url: str, var: Path, workers: int, opens: int) -> float:
    """Opens per second with `workers` processes writing at once (replicas behind a balancer)."""
    ctx = mp.get_context("spawn")
    barrier, done = ctx.Barrier(workers + 1), ctx.Queue()
    per = opens // workers
    procs = [ctx.Process(target=_open_many, args=(url, str(var), w, per, barrier, done))
             for w in range(workers)]
    for p in procs:
        p.start()
    barrier.wait()
    t0 = time.perf_counter()
    for p in procs:
        p.join()
    return per * workers / (time.perf_counter() - t0)


def measure(url: str, count: int, opens: int, lookups: int, workers: int) -> dict:
    var = ROOT / "var" / "bench"
    container = Container(Settings.from_env({**os.environ, "DATABASE_URL": url, "BOT_VAR_DIR": str(var)}))
    container.upgrade()
    t0 = time.perf_counter()
    numbers = seed(container, count)
    seed_s = time.perf_counter() - t0
    with container.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))  # steady state: planner statistics after the bulk load
    service = container.cases

    t0 = time.perf_counter()
    for i in range(opens):
        service.open_case(OpenCase(text=f"基准测试第{i}件：楼下噪音扰民", category="env.noise",
                                   area="S1P1G1", contact="13812345678", channel="telegram",
                                   address=str(i)))
    open_rate = opens / (time.perf_counter() - t0)
    parallel_rate = concurrent_open_rate(url, var, workers, opens)

    rng, samples = random.Random(1), []
    for _ in range(lookups):
        number = rng.choice(numbers)
        t = time.perf_counter()
        service.status(number)
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    container.engine.dispose()
    return {"cases": count, "seed_s": seed_s, "open_per_s": open_rate,
            "parallel_open_per_s": parallel_rate,
            "p50_ms": statistics.median(samples), "p95_ms": samples[int(len(samples) * 0.95) - 1]}


def postgres_url() -> str | None:
    admin = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    try:
        engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        name = f"jj_bench_{uuid.uuid4().hex[:8]}"
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return admin.rsplit("/", 1)[0] + "/" + name
    except Exception as exc:  # noqa: BLE001
        print(f"PostgreSQL not reachable, skipped ({exc.__class__.__name__})")
        return None


def drop_postgres(url: str) -> None:
    admin = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--opens", type=int, default=2000)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    sqlite_path = ROOT / "var" / "bench" / "bench.db"
    sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{sqlite_path}{suffix}").unlink(missing_ok=True)
    targets = [("SQLite", f"sqlite:///{sqlite_path}")]
    pg = postgres_url()
    if pg:
        targets.append(("PostgreSQL", pg))
    rows = []
    try:
        for name, url in targets:
            rows.append((name, measure(url, args.cases, args.opens, args.lookups, args.workers)))
    finally:
        if pg:
            drop_postgres(pg)
    print(f"\nCase store benchmark ({args.cases:,} cases in store, {args.opens} opens, "
          f"{args.lookups} status lookups)")
    print(f"{'database':<12}{'seed s':>8}{'opens/s 1 proc':>16}{f'opens/s {args.workers} procs':>18}"
          f"{'lookup p50 ms':>15}{'lookup p95 ms':>15}")
    for name, r in rows:
        print(f"{name:<12}{r['seed_s']:>8.1f}{r['open_per_s']:>16.0f}{r['parallel_open_per_s']:>18.0f}"
              f"{r['p50_ms']:>15.2f}{r['p95_ms']:>15.2f}")
    print("targets: opens/s >= 500, lookup p95 <= 5 ms")


if __name__ == "__main__":
    main()
