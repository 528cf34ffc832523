"""The figures' one aggregation (`bot.cases.stats._grouped`) reads per-event facts the case
service writes (`EventRow.next_at`, `on_time`, `solved`, `satisfied`; migration 0013 fills them
for existing events). Here it is checked against the query it replaced, kept below as the
reference: window functions over the period's events and the deadlines read from their JSON.
Random case histories (assignments, transfers, escalations, signings, resolutions, several
ratings, reopenings, extensions, merges) go through the real service on SQLite and PostgreSQL;
every `compute`, `series` and `with_previous` over random periods must group exactly the same
rows as the reference, and a store upgraded from before 0013 the same facts as written live."""
from __future__ import annotations

import random
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timedelta
from unittest import mock

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import (DateTime, and_, case, cast, func, or_, select, text, union_all)

from bot.cases import OpenCase, Rating, stats
from bot.cases.errors import IllegalTransition, InvalidInput
from bot.cases.models import CaseRow, EventRow
from bot.cases.stats import (ASSIGNING, SORT_MEMORY, _bucket, _total, compute, series,
                             with_previous)
from bot.db import READ_ONLY
from bot.migrate import upgrade

CATEGORIES = ["env.noise", "urban.water_supply", "transport.parking", "labor.wage_arrears"]
AREAS = ["S1P1G1", "S1P2G1", "S2P1G2", "S3P1G1", None]
BODIES = ["B-GD", "B-SthJ", "B-CGJ"]
# a handler's usual path weighs most: signings, resolutions, ratings (and so second ratings)
ACTIONS = ["accept"] * 3 + ["resolve"] * 3 + ["rate"] * 4 + [
    "assign", "start", "transfer", "transfer", "escalate", "reopen", "close", "extend",
    "withdraw", "merge", "refer", "note"]
# how long after its last event a case's next one comes; "sign" and "due": exactly at its deadline
DELAYS = ["0", "1s", "1h", "5h", "1d", "4d", "30d", "sign", "due"]
PERIODS = ["2026-10", "2026-11", "2026-12", "2026Q4", "2026", "2026-W45", "2026-11-05",
           "2026-10-15..2026-12-10", "2027-01"]
UNITS = ["day", "week", "month"]
FACTS = ("next_at", "on_time", "solved", "satisfied")


# ------------------------------------------------------------------ the reference
def _moment_of(service: CaseService):
    """A timestamp column or an ISO string from JSON as something SQL compares in time order."""
    if service.session_factory.kw["bind"].dialect.name == "sqlite":
        return func.julianday
    return lambda value: cast(value, DateTime)



def oracle(service: CaseService, edges: list[datetime | None], split: datetime | None = None):
    """Counts of the events between the first and last edge, grouped by bucket, kind (open,
    assigning, resolve, rate), the event's body and the case's category, type, area and body.
    An assignment is signed on time when the case's next assignment-or-signing in the range
    is the signing, before the sign deadline; a resolution is on time before the due date;
    only the latest rating of a case in the range counts. SQL does the counting, one GROUP BY
    per kind over that kind's events only: the window functions sort the assignments and the
    ratings alone, and the JSON fields are read from the events they belong to."""
    moment = _moment_of(service)
    apart = () if split is None else (case((EventRow.at < split, 0), else_=1),)
    data = EventRow.data

    def events(actions, *columns):
        stmt = select(EventRow.case_id, EventRow.action, EventRow.at, EventRow.body_code,
                      *columns).where(EventRow.action.in_(actions))
        if edges[0] is not None:
            stmt = stmt.where(EventRow.at >= edges[0])
        if edges[-1] is not None:
            stmt = stmt.where(EventRow.at < edges[-1])
        return stmt.subquery()

    def counted(e, on_time=None, solved=None, satisfied=None, where=()):
        bucket = _bucket(e.c.at, edges[1:-1], 0, len(edges) - 2)
        kind = case((e.c.action.in_(ASSIGNING), "assign"), else_=e.c.action)
        keys = (bucket, kind, e.c.body_code, CaseRow.category_code, CaseRow.case_type,
                CaseRow.area_code, CaseRow.body_code)
        return (select(bucket.label("bucket"), kind.label("action"), e.c.body_code,
                       CaseRow.category_code, CaseRow.case_type, CaseRow.area_code,
                       CaseRow.body_code.label("case_body"), func.count().label("n"),
                       _total(on_time).label("on_time"), _total(solved).label("solved"),
                       _total(satisfied).label("satisfied"))
                .join(CaseRow, CaseRow.id == e.c.case_id).where(*where).group_by(*keys))

    opened = events(("open",))
    resolved = events(("resolve",), data["due_at"].as_string().label("due"))
    window = dict(partition_by=(EventRow.case_id, *apart), order_by=EventRow.seq)
    signing = events(
        ASSIGNING + ("accept",), data["sign_due_at"].as_string().label("sign_due"),
        func.lead(EventRow.action).over(**window).label("next_action"),
        func.lead(EventRow.at, type_=EventRow.at.type).over(**window).label("next_at"))
    rated = events(
        ("rate",), data["solved"].as_boolean().label("solved"),
        data["satisfaction"].as_string().label("satisfaction"),
        func.row_number().over(partition_by=(EventRow.case_id, *apart),
                               order_by=EventRow.seq.desc()).label("latest"))
    stmt = union_all(
        counted(opened),
        counted(resolved, or_(resolved.c.due.is_(None),
                              moment(resolved.c.at) <= moment(resolved.c.due))),
        counted(signing, and_(signing.c.next_action == "accept",
                              or_(signing.c.sign_due.is_(None),
                                  moment(signing.c.next_at) <= moment(signing.c.sign_due))),
                where=(signing.c.action != "accept",)),
        counted(rated, solved=rated.c.solved.is_(True),
                satisfied=rated.c.satisfaction.in_(("满意", "基本满意")),
                where=(rated.c.latest == 1,)))
    with service.session_factory() as session:
        # a read: on SQLite a deferred transaction, so a year's count never holds up a filing
        conn = session.connection(execution_options={READ_ONLY: True})
        if conn.dialect.name == "postgresql":
            # a year's events sort in memory rather than in temporary files (this transaction only)
            conn.execute(text(f"SET LOCAL work_mem = '{SORT_MEMORY}'"))
        return conn.execute(stmt).all()



@contextmanager
def checked_against_the_reference():
    """Every aggregation `bot.cases.stats` runs is also run by the reference query; both must
    give the same groups with the same counts."""
    real, calls = stats._grouped, []

    def both(service, edges, split=None):
        got = real(service, edges, split)
        assert Counter(map(tuple, got)) == Counter(map(tuple, oracle(service, edges, split))), \
            (edges, split)
        calls.append(len(got))
        return got

    with mock.patch.object(stats, "_grouped", both):
        yield calls


def play(service, clock, steps, start: datetime, opening) -> list[str]:
    """Cases driven through the service by `steps` (case index, action, delay): each case keeps
    its own time, moved on by the delay before each of its events; an action the case's state
    does not allow is left out, as a handler could not take it either."""
    numbers: dict[int, str] = {}
    times: dict[int, datetime] = {}
    for index, action, delay, pick in steps:
        if index not in numbers:
            category, area, auto = opening[index % len(opening)]
            clock.now = times[index] = start + timedelta(hours=7 * index)
            numbers[index] = service.open_case(OpenCase(
                text=f"楼道里的灯坏了很久没人修（{index}）", category=category, area=area,
                auto_assign=auto, channel="phone", address=f"1390000{index:04d}")).number
            continue
        number = numbers[index]
        view = service.get(number)
        times[index] = later(times[index], delay, view)
        clock.now = times[index]
        kwargs = {}
        if action == "transfer":
            kwargs["to"] = BODIES[pick % len(BODIES)]
        elif action == "rate":
            kwargs["rating"] = Rating(pick % 2 == 0, ("满意", "基本满意", "不满意")[pick % 3])
        elif action in ("resolve", "reopen", "note", "extend", "withdraw", "refer"):
            kwargs["text"] = "已按要求处理完毕"
            if action == "extend":
                kwargs["to"] = str(1 + pick % 4)
        elif action == "merge":
            others = [n for i, n in numbers.items() if i != index]
            if not others:
                continue
            kwargs["to"] = others[pick % len(others)]
        try:
            service.act(number, action, **kwargs)
        except (IllegalTransition, InvalidInput):
            pass
    return list(numbers.values())


def later(at: datetime, delay: str, view) -> datetime:
    if delay in ("sign", "due"):
        deadline = view.sign_due_at if delay == "sign" else view.due_at
        if deadline:
            return max(at, datetime.fromisoformat(deadline.removesuffix("Z")))
        return at
    amount, unit = int(delay[:-1] or 0), delay[-1:]
    return at + {"s": timedelta(seconds=amount), "h": timedelta(hours=amount),
                 "d": timedelta(days=amount)}.get(unit, timedelta(0))


# each case's life: the actions tried on it in turn after its opening, often a usual start first
USUAL = ["", "accept", "accept resolve", "accept resolve rate", "transfer accept resolve rate",
         "accept resolve rate rate"]
life = st.tuples(
    st.sampled_from(USUAL), st.lists(st.sampled_from(DELAYS), min_size=5, max_size=5),
    st.lists(st.tuples(st.sampled_from(ACTIONS), st.sampled_from(DELAYS), st.integers(0, 5)),
             max_size=12),
).map(lambda t: [(a, t[1][k], k) for k, a in enumerate(t[0].split())] + t[2])
lives = st.lists(life, min_size=1, max_size=4)
steps = lives.map(lambda cases: [(i, *step) for i, life in enumerate(cases)
                                 for step in [("open", "0", 0), *life]])
openings = st.lists(st.tuples(st.sampled_from(CATEGORIES), st.sampled_from(AREAS),
                              st.booleans()), min_size=1, max_size=3)


@settings(max_examples=30, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(steps=steps, opening=openings, offset=st.integers(0, 100 * 24 * 60),
       periods=st.lists(st.tuples(st.sampled_from(PERIODS), st.sampled_from(UNITS)),
                        min_size=1, max_size=3))
def test_figures_group_what_the_window_query_grouped(container, clock, steps, opening, offset,
                                                     periods):
    """The store grows over the examples: each one adds its cases (from late September 2026 on)
    and checks the periods over everything written so far."""
    service = container.cases
    play(service, clock, steps, datetime(2026, 9, 25) + timedelta(minutes=offset), opening)
    with checked_against_the_reference() as calls:
        compute(service)
        for period, unit in periods:
            compute(service, period)
            if not (period == "2026" and unit == "day"):
                series(service, period, unit)
                with_previous(service, period, unit)
            else:
                with_previous(service, period, "week")
    assert calls


def test_an_upgraded_store_gets_the_facts_the_service_writes(container, clock):
    """Events written live carry their facts; a store from before 0013 gets the same ones from
    the migration (downgraded and upgraded again here), and so the same figures."""
    rng = random.Random(13)
    service = container.cases
    for round_ in range(3):
        plan = [(rng.randrange(6), rng.choice(ACTIONS), rng.choice(DELAYS), rng.randrange(6))
                for _ in range(150)]
        play(service, clock, plan, datetime(2026, 10, 1) + timedelta(days=20 * round_),
             [(c, a, True) for c, a in zip(CATEGORIES, AREAS)])

    def facts():
        with container.engine.connect() as conn:
            return conn.execute(select(EventRow.id, *(getattr(EventRow, f) for f in FACTS))
                                .order_by(EventRow.id)).all()

    live = facts()
    assert any(row.next_at for row in live) and any(row.on_time for row in live)
    assert any(row.on_time is False for row in live) and any(row.solved for row in live)
    with container.engine.connect() as conn:   # a later rating: the earlier one was superseded
        assert conn.execute(select(func.count()).where(EventRow.action == "rate",
                                                       EventRow.next_at.isnot(None))).scalar()
    figures = compute(service, "2026Q4").to_dict()
    upgrade(container.engine, container.catalog, revision="0012")
    upgrade(container.engine, container.catalog)
    assert facts() == live
    assert compute(service, "2026Q4").to_dict() == figures
    with checked_against_the_reference():
        with_previous(service, "2026-11", "day")


def test_signing_exactly_at_the_deadline_is_on_time_and_a_second_later_is_not(container, clock):
    service = container.cases
    on_time = service.open_case(OpenCase(text="小区停水两天了也没有通知", category="urban.water_supply",
                                         area="S1P1G1", channel="phone", address="13900000001"))
    late = service.open_case(OpenCase(text="小区停水三天了也没有通知", category="urban.water_supply",
                                      area="S1P1G1", channel="phone", address="13900000002"))
    clock.advance(hours=2)                           # water supply: 2 hours to sign
    service.act(on_time.number, "accept")
    clock.advance(seconds=1)
    service.act(late.number, "accept")
    figures = compute(service, "2026-11").to_dict()["counts"]
    assert (figures["assigned"], figures["signed_on_time"]) == (2, 1)
    # a signing after the period's end does not count in it
    clock.now = datetime(2026, 11, 30, 15, 30)       # 23:30 Beijing time, the last day of November
    third = service.open_case(OpenCase(text="小区停水一天了也没有通知", category="urban.water_supply",
                                       area="S1P1G1", channel="phone", address="13900000003"))
    clock.advance(hours=1)                           # December in Beijing, still in time
    service.act(third.number, "accept")
    november = compute(service, "2026-11").to_dict()["counts"]
    assert (november["assigned"], november["signed_on_time"]) == (3, 1)
    assert compute(service, "2026Q4").to_dict()["counts"]["signed_on_time"] == 2
