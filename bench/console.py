"""Benchmark of the console's read side at 100,000 cases: queue pages, case lookups and text
search per role, on SQLite and PostgreSQL.

    make bench            # or: .venv/app/bin/python -m bench.console [--cases 100000]

The store is a temporary SQLite file and a temporary PostgreSQL database (created and dropped
here; skipped when the server is unreachable, unless CI=true), filled by `seed` with bulk
inserts of realistic cases in every state with their events. Then `measure` times
`CaseQueries.page` (every queue in turn), `CaseQueries.case` and a text search for an agent,
a body's staff, an operator and a supervisor. Target: p95 ≤ 200 ms (issue 11).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text
from sqlalchemy.engine import Engine

from bench.cases import drop_postgres, postgres_url
from bot.catalog import Catalog
from bot.cases.models import CaseRow, EventRow
from bot.cases.queries import QUEUES, CaseFilter, CaseQueries
from bot.cases.service import utcnow
from bot.container import Container
from bot.settings import Settings
from bot.staff.principal import Role, Staff

ROLES = {
    "agent": Staff(1, "bench-agent", Role.AGENT, agent_code="A-S1P1"),
    "body": Staff(2, "bench-body", Role.BODY, body_code="B-CGJ"),
    "operator": Staff(3, "bench-op", Role.OPERATOR),
    "supervisor": Staff(4, "bench-sup", Role.SUPERVISOR),
}
PHRASES = ["楼下烧烤店噪音扰民到凌晨", "小区路灯坏了一个月没人修", "物业乱收停车费", "工地夜间施工太吵",
           "自来水发黄有异味", "公司拖欠三个月工资", "垃圾清运不及时", "道路坑洼积水",
           "占道经营堵塞交通", "供暖温度不达标", "医保报销流程咨询", "孩子入学政策咨询"]
# state → the events after "open" that lead there (actor of each is the handler)
PATHS = {
    "assigned": ["assign"], "accepted": ["assign", "accept"],
    "in_progress": ["assign", "accept", "start", "reply"],
    "resolved": ["assign", "accept", "start", "reply", "resolve"],
    "rated": ["assign", "accept", "start", "reply", "resolve", "rate"],
    "closed": ["assign", "accept", "start", "reply", "resolve", "rate", "close"],
    "withdrawn": ["assign", "withdraw"], "referred": ["refer"],
}
# A store that has run for a year: most cases finished, 15 % open, 7 % resolved.
MIX = [("assigned", 4), ("accepted", 3), ("in_progress", 8), ("resolved", 3), ("rated", 4),
       ("closed", 70), ("withdrawn", 5), ("referred", 3)]
TO_STATE = {"assign": "assigned", "accept": "accepted", "start": "in_progress",
            "reply": "in_progress", "resolve": "resolved", "rate": "resolved", "close": "closed",
            "withdraw": "withdrawn", "refer": "referred"}
BATCH = 5000


def seed(engine: Engine, catalog: Catalog, count: int, *, now: datetime | None = None,
         rng: random.Random | None = None) -> list[str]:
    """Bulk-insert `count` cases (and their events) into a migrated store; return the numbers.
    Open cases were opened in the last 20 days, finished ones over the last year."""
    now, rng = now or utcnow(), rng or random.Random(11)
    categories = list(catalog.categories)
    areas = [a.code for a in catalog.areas.values() if a.tier in ("grid", "point")]
    states = [s for s, weight in MIX for _ in range(weight)]
    routes: dict = {}
    numbers: list[str] = []
    with engine.begin() as conn:
        for offset in range(0, count, BATCH):
            rows, plans = [], []
            for i in range(offset, min(offset + BATCH, count)):
                plan = rng.choice(states)
                category, area = rng.choice(categories), rng.choice(areas)
                route = routes.get((category, area)) or routes.setdefault(
                    (category, area), catalog.route(category, area))
                limits = catalog.categories[category].limits
                span = 20 if plan in ("assigned", "accepted", "in_progress") else 365
                created = now - timedelta(minutes=rng.randrange(span * 24 * 60))
                number = f"BC{created:%Y%m%d}-{i:06d}"
                phrase = rng.choice(PHRASES)
                referred = plan == "referred"
                rows.append(dict(
                    number=number, kind="demand", category_code=category, area_code=area,
                    body_code=None if referred else route.body.code,
                    agent_code=None if referred else route.agent.code, tier=route.tier,
                    state=TO_STATE[PATHS[plan][-1]], summary=phrase[:60],
                    text=f"{phrase}，第{i}号反映，地点在{catalog.areas[area].name}附近，希望尽快处理",
                    place=f"{catalog.areas[area].name}{rng.randrange(1, 99)}号", channel="telegram",
                    address=str(100000 + i), contact_phone=f"138{i:08d}", contact_name="王先生",
                    case_type=rng.choice(["投诉", "求助", "咨询"]), created_at=created,
                    updated_at=created, sign_due_at=created + timedelta(hours=limits.sign_hours),
                    contact_due_at=created + timedelta(hours=limits.contact_hours),
                    due_at=created + timedelta(days=7), event_count=1 + len(PATHS[plan])))
                plans.append(plan)
                numbers.append(number)
            ids = conn.execute(insert(CaseRow).returning(CaseRow.id, sort_by_parameter_order=True),
                               rows).scalars().all()
            conn.execute(insert(EventRow), [
                event for case_id, row, plan in zip(ids, rows, plans)
                for event in _events(case_id, row, plan, rng)])
    return numbers


def _events(case_id: int, row: dict, plan: str, rng: random.Random) -> list[dict]:
    opener = "staff:bench-op" if rng.random() < 0.02 else "telegram"
    at, state, out = row["created_at"], "received", []
    for seq, action in enumerate(["open", *PATHS[plan]], 1):
        to_state = TO_STATE.get(action, "received")
        data = {"solved": True, "satisfaction": "满意"} if action == "rate" else {}
        out.append(dict(case_id=case_id, seq=seq, at=at, actor=opener if seq == 1 else "bench",
                        action=action, from_state=None if seq == 1 else state, to_state=to_state,
                        body_code=row["body_code"], agent_code=row["agent_code"],
                        public_text="基准" if action != "note" else None, data=data))
        state, at = to_state, at + timedelta(minutes=rng.randrange(10, 600))
    return out


def percentiles(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def timed(call, repeats: int) -> tuple[float, float]:
    """p50 and p95 in milliseconds of `repeats` calls of `call(i)`."""
    samples = []
    for i in range(repeats):
        t0 = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - t0) * 1000)
    return percentiles(samples)


def measure(queries: CaseQueries, numbers: list[str], repeats: int) -> dict[str, dict]:
    """Per role: queue page (the queues in turn), case lookup and text search, p50/p95 ms."""
    queues = list(QUEUES)
    results = {}
    for role, staff in ROLES.items():
        visible = [item["number"] for item in
                   queries.page(staff, CaseFilter(per_page=100))["items"]] or numbers[:1]
        results[role] = {
            "queue": timed(lambda i: queries.page(
                staff, CaseFilter(queue=queues[i % len(queues)])), repeats),
            "lookup": timed(lambda i: queries.case(staff, visible[i % len(visible)]), repeats),
            "search": timed(lambda i: queries.page(
                staff, CaseFilter(q=PHRASES[i % len(PHRASES)][:4])), repeats),
        }
    return results


def run(url: str, count: int, repeats: int) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as var:
        container = Container(Settings.from_env({**os.environ, "DATABASE_URL": url,
                                                 "BOT_VAR_DIR": var}))
        container.upgrade()
        t0 = time.perf_counter()
        numbers = seed(container.engine, container.catalog, count)
        seed_s = time.perf_counter() - t0
        # Steady state as the product runs: PostgreSQL's autovacuum has statistics and the
        # visibility map after a bulk load; nothing runs ANALYZE on SQLite, so neither do we.
        if not url.startswith("sqlite"):
            with container.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        try:
            return seed_s, measure(CaseQueries(container.cases), numbers, repeats)
        finally:
            container.engine.dispose()


def stores(run, count: int, repeats: int, only: str | None = None) -> list[tuple]:
    """`run(url, count, repeats)` on a temporary SQLite file and a temporary PostgreSQL
    database (skipped when unreachable, unless CI=true): [(name, *result), …]."""
    tables = []
    if only != "postgresql":
        with tempfile.TemporaryDirectory() as tmp:
            tables.append(("SQLite", *run(f"sqlite:///{Path(tmp) / 'console.db'}", count,
                                          repeats)))
    if only != "sqlite":
        pg = postgres_url()
        if pg is None and os.environ.get("CI") == "true":
            sys.exit("CI=true and PostgreSQL is unreachable: the console benchmark needs it")
        if pg:
            try:
                tables.append(("PostgreSQL", *run(pg, count, repeats)))
            finally:
                drop_postgres(pg)
    return tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=60)
    args = parser.parse_args()

    tables = stores(run, args.cases, args.repeats)
    print(f"\nConsole read side ({args.cases:,} cases, {args.repeats} calls each; ms p50 / p95)")
    print(f"{'database':<12}{'role':<12}{'queue page':>16}{'case lookup':>16}{'text search':>16}")
    for name, seed_s, results in tables:
        for role, r in results.items():
            cells = "".join(f"{r[k][0]:>8.1f} /{r[k][1]:>6.1f}"
                            for k in ("queue", "lookup", "search"))
            print(f"{name:<12}{role:<12}{cells}")
        print(f"{'':<12}(seeded in {seed_s:.1f} s)")
    print("target: p95 <= 200 ms for every cell")


if __name__ == "__main__":
    main()
