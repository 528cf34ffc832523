"""Benchmark of supervision at 100,000 cases over a year: `bot stats` figures, the dashboard's
data and the XLSX export, on SQLite and PostgreSQL. Target (issue 13): p95 <= 1 s.

    make bench            # or: .venv/app/bin/python -m bench.supervision [--cases 100000]

The store is seeded as `bench.console` seeds it (cases in every state with their events), at the
revision before the events' facts (migration 0013), which the upgrade then fills in: its time is
the first line.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from bench.cases import drop_postgres, postgres_url
from bench.console import percentiles, seed
from bot.cases import reports, supervision
from bot.cases.stats import compute, previous_period
from bot.container import Container
from bot.migrate import upgrade
from bot.settings import Settings

BEFORE_FACTS = "0012"     # the revision before migration 0013 (events.next_at, on_time, ...)


def timed(call, repeats: int) -> tuple[float, float, float]:
    """Wall ms p50 and p95, and this process's CPU ms p50 (on a shared machine the wall time
    swings with the others' load; the CPU time much less; PostgreSQL's own work is not in it)."""
    samples, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        call()
        samples.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return (*percentiles(samples), percentiles(cpu)[0])


def run(url: str, count: int, repeats: int) -> dict:
    with tempfile.TemporaryDirectory() as var:
        container = Container(Settings.from_env({**os.environ, "DATABASE_URL": url,
                                                 "BOT_VAR_DIR": var}))
        # seeded as a store from before the events' facts, which the upgrade then fills in
        upgrade(container.engine, container.catalog, revision=BEFORE_FACTS)
        seed(container.engine, container.catalog, count)
        t0 = time.perf_counter()
        container.upgrade()
        backfill = (time.perf_counter() - t0) * 1000
        steady = "ANALYZE" if url.startswith("sqlite") else "VACUUM ANALYZE"
        with container.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(steady))
        service = container.cases
        month = previous_period(supervision.default_period(service))   # a whole month
        year = month[:4]
        body = next(iter(container.catalog.bodies))
        try:
            return {
                "upgrade (facts backfill)": (backfill, backfill, float("nan")),
                "stats month": timed(lambda: compute(service, month), repeats),
                "stats year": timed(lambda: compute(service, year), repeats),
                "dashboard month": timed(lambda: supervision.dashboard(service, month), repeats),
                "dashboard year": timed(lambda: supervision.dashboard(service, year), repeats),
                "dashboard month, one body": timed(
                    lambda: supervision.dashboard(service, month, body=body), repeats),
                "export month xlsx": timed(lambda: reports.to_xlsx(
                    service, reports.build(service, month)), repeats),
                "export year figures csv": timed(lambda: reports.to_csv(
                    service, reports.build(service, year), part="figures"), repeats),
                "export year xlsx": timed(lambda: reports.to_xlsx(
                    service, reports.build(service, year)), repeats),
            }
        finally:
            container.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    tables = []
    with tempfile.TemporaryDirectory() as tmp:
        tables.append(("SQLite", run(f"sqlite:///{Path(tmp) / 's.db'}", args.cases, args.repeats)))
    pg = postgres_url()
    if pg:
        try:
            tables.append(("PostgreSQL", run(pg, args.cases, args.repeats)))
        finally:
            drop_postgres(pg)
    print(f"\nSupervision ({args.cases:,} cases over a year, {args.repeats} calls each; "
          f"wall ms p50 / p95, client CPU ms p50)")
    for name, results in tables:
        for what, (p50, p95, cpu) in results.items():
            print(f"{name:<12}{what:<28}{p50:>9.1f} /{p95:>8.1f}   cpu {cpu:>7.1f}")
    print("target: p95 <= 1000 ms")


if __name__ == "__main__":
    main()
