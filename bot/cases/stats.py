"""三率 and 按时办结率, computed from events only (design.md §4.6), never from side counters.

响应率     = assignments signed before their sign deadline / assignments
解决率     = cases rated solved / cases rated            (latest rating per case in the period)
满意率     = cases rated 满意 or 基本满意 / cases rated
按时办结率 = resolutions before the due date / resolutions

`by_type` gives the same per 12345 type (咨询 求助 投诉 举报 建议 表扬; "-" for cases opened
before types were recorded) and `opened`, the cases of that type opened in the period.
`by_area` gives the same per area, each case counted in its area and every area above it
(网格 → 点 → 站 → 中心), with `opened`; `by_category` entries carry `opened` too, and `opened`
at the top is every case opened in the period.

`compute(..., body=)` keeps only one body's figures (what body staff may see): its overall
figures are that body's `by_body` entry of the unrestricted figures. `series` runs the same
count per day, week or month of a period (the dashboard's trend charts), one pass over events;
`with_previous` gives a period, the one before it and the period's series from one query.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, literal, not_, or_, select, text

from bot.cases.errors import InvalidInput
from bot.cases.models import CaseRow, EventRow
from bot.cases.service import CaseService
from bot.db import READ_ONLY

ASSIGNING = ("assign", "transfer", "escalate")
COUNTED = ("open", *ASSIGNING, "resolve", "rate")
# Years a period may name: well before any case, and far enough ahead that the period's end
# (the next year's first day, in local time) is still a date Python can hold.
MIN_YEAR, MAX_YEAR = 1970, 2999
MAX_RANGE_DAYS = 366 * 5          # a custom range longer than five years is refused
MAX_BUCKETS = 400                 # points of one trend chart
SORT_MEMORY = "64MB"              # PostgreSQL work_mem for the aggregation's sorts
UNITS = {"day": "日", "week": "周", "month": "月"}
PERIOD_HELP = "例如 2026、2026Q4、2026-11、2026-W48、2026-11-05 或 2026-11-01..2026-11-30"
_PERIOD = re.compile(r"(\d{4})(?:Q([1-4])|-W(\d{1,2})|-(\d{1,2})(?:-(\d{1,2}))?)?")


@dataclass(slots=True)
class Tally:
    assigned: int = 0
    signed_on_time: int = 0
    rated: int = 0
    solved: int = 0
    satisfied: int = 0
    resolved: int = 0
    resolved_on_time: int = 0

    def to_dict(self) -> dict:
        def rate(part: int, whole: int) -> float | None:
            return round(part / whole, 4) if whole else None

        return {
            "response_rate": rate(self.signed_on_time, self.assigned),
            "resolution_rate": rate(self.solved, self.rated),
            "satisfaction_rate": rate(self.satisfied, self.rated),
            "on_time_rate": rate(self.resolved_on_time, self.resolved),
            "counts": {k: getattr(self, k) for k in (
                "assigned", "signed_on_time", "rated", "solved", "satisfied",
                "resolved", "resolved_on_time")},
        }

    def add(self, other: "Tally") -> None:
        for k in _TALLY_FIELDS:
            setattr(self, k, getattr(self, k) + getattr(other, k))


_TALLY_FIELDS = ("assigned", "signed_on_time", "rated", "solved", "satisfied", "resolved",
                 "resolved_on_time")


@dataclass
class Stats:
    period: str
    start: datetime | None
    end: datetime | None
    overall: Tally = field(default_factory=Tally)
    by_body: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_category: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_type: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_area: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    opened: int = 0
    opened_by_type: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    opened_by_category: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    opened_by_area: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, other: "Stats") -> None:
        """Count `other`'s figures (a later bucket of the same window) into these."""
        self.overall.add(other.overall)
        self.opened += other.opened
        for mine, theirs in ((self.by_body, other.by_body), (self.by_category, other.by_category),
                             (self.by_type, other.by_type), (self.by_area, other.by_area)):
            for k, v in theirs.items():
                mine[k].add(v)
        for mine, theirs in ((self.opened_by_type, other.opened_by_type),
                             (self.opened_by_category, other.opened_by_category),
                             (self.opened_by_area, other.opened_by_area)):
            for k, v in theirs.items():
                mine[k] += v

    def to_dict(self) -> dict:
        def with_opened(tallies: dict[str, Tally], opened: dict[str, int]) -> dict:
            return {k: {"opened": opened.get(k, 0), **tallies[k].to_dict()}
                    for k in sorted(set(tallies) | set(opened))}

        return {
            "period": self.period,
            "from": self.start.isoformat() + "Z" if self.start else None,
            "to": self.end.isoformat() + "Z" if self.end else None,
            **self.overall.to_dict(),
            "opened": self.opened,
            "by_body": {k: v.to_dict() for k, v in sorted(self.by_body.items())},
            "by_category": with_opened(self.by_category, self.opened_by_category),
            "by_type": with_opened(self.by_type, self.opened_by_type),
            "by_area": with_opened(self.by_area, self.opened_by_area),
        }


def local_range(period: str) -> tuple[date, date]:
    """The local days [first, end) a period names (see PERIOD_HELP); InvalidInput otherwise."""
    text = period.strip()
    if ".." in text:
        first, _, last = text.partition("..")
        start, stop = local_range(first)[0], local_range(last)[1]
        if stop <= start:
            raise InvalidInput(f"empty range {period!r}", f"统计时段的结束日期早于开始日期：{period}")
        if (stop - start).days > MAX_RANGE_DAYS:
            raise InvalidInput(f"range {period!r} too long",
                               f"自定义统计时段最长 {MAX_RANGE_DAYS // 366} 年，请缩短：{period}")
        return start, stop
    match = _PERIOD.fullmatch(text)
    if not match:
        raise InvalidInput(f"bad period {period!r}", f"统计周期格式不对：{period}（{PERIOD_HELP}）")
    year, quarter, week, month, day = (match[1], match[2], match[3], match[4], match[5])
    year = int(year)
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInput(f"year {year} out of range {MIN_YEAR}-{MAX_YEAR}",
                           f"统计年份不对：{match[1]}（应在 {MIN_YEAR} 到 {MAX_YEAR} 年之间）")
    if week:
        try:
            start = date.fromisocalendar(year, int(week), 1)
        except ValueError:
            raise InvalidInput(f"bad week {week}", f"周数不对：{week}") from None
        return start, start + timedelta(days=7)
    if quarter:
        first, last = (int(quarter) - 1) * 3 + 1, (int(quarter) - 1) * 3 + 4
    elif month:
        first, last = int(month), int(month) + 1
        if not 1 <= first <= 12:
            raise InvalidInput(f"bad month {month}", f"月份不对：{month}")
        if day:
            try:
                start = date(year, first, int(day))
            except ValueError:
                raise InvalidInput(f"bad day {period!r}", f"日期不对：{period}") from None
            return start, start + timedelta(days=1)
    else:
        first, last = 1, 13
    return date(year, first, 1), date(year + (last - 1) // 12, (last - 1) % 12 + 1, 1)


def parse_period(period: str | None, service: CaseService) -> tuple[datetime | None, datetime | None]:
    """A period (see PERIOD_HELP) or None (all time) → [start, end) in naive UTC."""
    if not period:
        return None, None
    start, end = local_range(period)
    return _utc(start, service), _utc(end, service)


def previous_period(period: str | None) -> str | None:
    """The period just before `period`, of the same kind and length (None for all time)."""
    if not period:
        return None
    start, end = local_range(period)
    text = period.strip()
    if ".." in text or re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", text):
        days = (end - start).days
        before = start - timedelta(days=days)
        last = start - timedelta(days=1)
        return before.isoformat() if days == 1 else f"{before.isoformat()}..{last.isoformat()}"
    if "-W" in text:
        year, week, _ = (start - timedelta(days=7)).isocalendar()
        return f"{year}-W{week:02d}"
    if "Q" in text:
        quarter = (start.month - 1) // 3
        return f"{start.year - 1}Q4" if quarter == 0 else f"{start.year}Q{quarter}"
    if "-" in text:
        prev = start - timedelta(days=1)
        return f"{prev.year}-{prev.month:02d}"
    return str(start.year - 1)


def compute(service: CaseService, period: str | None = None, *, body: str | None = None) -> Stats:
    start, end = parse_period(period, service)
    stats = Stats(period or "all", start, end)

    _count(service, [stats], [start, end], body)
    return stats


def series(service: CaseService, period: str, unit: str = "day", *,
           body: str | None = None) -> list[Stats]:
    """The period's figures per local day, ISO week or month (buckets clipped to the period)."""
    buckets = _buckets(service, period, unit)
    _count(service, buckets, [b.start for b in buckets] + [buckets[-1].end], body)
    return buckets


def with_previous(service: CaseService, period: str, unit: str = "day", *,
                  body: str | None = None) -> tuple[Stats, Stats, list[Stats]]:
    """`compute(period)`, `compute(previous_period(period))` and `series(period, unit)` from
    one query: each period's events form their own window (as two separate calls would), and
    the period's figures are the sum of its buckets."""
    buckets = _buckets(service, period, unit)
    before_name = previous_period(period)
    before_start, _ = parse_period(before_name, service)
    before = Stats(before_name, before_start, buckets[0].start)
    edges = [before_start] + [b.start for b in buckets] + [buckets[-1].end]
    _count(service, [before, *buckets], edges, body, split=buckets[0].start)
    now = Stats(period, buckets[0].start, buckets[-1].end)
    for b in buckets:
        now.add(b)
    return now, before, buckets


def _buckets(service: CaseService, period: str, unit: str) -> list[Stats]:
    if unit not in UNITS:
        raise InvalidInput(f"unknown unit {unit!r}", f"趋势的时间单位只能是 日、周、月（day/week/month）")
    first, stop = local_range(period)
    days = [first]
    while days[-1] < stop:
        days.append(min(_next_boundary(days[-1], unit), stop))
        if len(days) > MAX_BUCKETS + 1:
            raise InvalidInput("too many points", f"时段太长，按{UNITS[unit]}画不下，请换更大的时间单位")
    edges = [_utc(d, service) for d in days]
    return [Stats(d.isoformat(), a, b) for d, a, b in zip(days, edges, edges[1:])]


def _count(service: CaseService, stats: list[Stats], edges: list[datetime | None],
           body: str | None, split: datetime | None = None) -> None:
    """The one aggregation behind `compute`, `series` and `with_previous`: the database counts
    per bucket (`edges[i] <= at < edges[i + 1]`) and per body, category, type and area; here
    the groups are added into each Stats' breakdowns. A group counts in its own area first;
    each area's figures are then added into the areas above it, once per area rather than
    once per group. Events before and after `split` are windowed apart (two periods in one
    query)."""
    for (bucket, action, body_code, category, case_type, area, case_body,
         n, on_time, solved, satisfied) in _grouped(service, edges, split):
        into = stats[bucket]
        if action == "open":
            if body is None or case_body == body:
                into.opened += n
                into.opened_by_type[case_type or "-"] += n
                into.opened_by_category[category] += n
                into.opened_by_area[area] += n
            continue
        if body is not None and body_code != body:
            continue
        targets = (into.overall, into.by_body[body_code or "-"], into.by_category[category],
                   into.by_type[case_type or "-"], into.by_area[area])
        if action == "resolve":
            for t in targets:
                t.resolved += n
                t.resolved_on_time += on_time
        elif action == "rate":
            for t in targets:
                t.rated += n
                t.solved += solved
                t.satisfied += satisfied
        else:
            for t in targets:
                t.assigned += n
                t.signed_on_time += on_time
    lineage = _lineage(service)
    for into in stats:
        own_tallies, own_opened = into.by_area, into.opened_by_area
        into.by_area, into.opened_by_area = defaultdict(Tally), defaultdict(int)
        for area, tally in own_tallies.items():
            for a in lineage(area):
                into.by_area[a].add(tally)
        for area, n in own_opened.items():
            for a in lineage(area):
                into.opened_by_area[a] += n


def _grouped(service: CaseService, edges: list[datetime | None], split: datetime | None = None):
    """Counts of the events between the first and last edge, grouped by bucket, kind (open,
    assigning, resolve, rate), the event's body and the case's category, type, area and body.
    An assignment is signed on time when the case's next assignment-or-signing in the range
    is the signing, before the sign deadline; a resolution is on time before the due date;
    only the latest rating of a case in the range counts. Events before and after `split` are
    two ranges (two periods). One GROUP BY over the (action, at) index: the service wrote on
    each event what a window over the case's history would find (`EventRow.next_at`,
    `on_time`, `solved`, `satisfied`), so "in the range" is only `next_at` before the end of
    the event's own range."""
    e, end = EventRow, edges[-1]

    def in_range(moment):
        """A later event's time (NULL: none yet) falls in the range of the row's event."""
        inside = moment.isnot(None) if end is None else moment < end
        return inside if split is None else and_(inside, or_(e.at >= split, moment < split))

    bucket = _bucket(e.at, edges[1:-1], 0, len(edges) - 2)
    kind = case((e.action.in_(ASSIGNING), "assign"), else_=e.action)
    on_time = and_(e.on_time.is_(True), or_(e.action == "resolve", in_range(e.next_at)))
    keys = (bucket, kind, e.body_code, CaseRow.category_code, CaseRow.case_type,
            CaseRow.area_code, CaseRow.body_code)
    stmt = (select(bucket.label("bucket"), kind.label("action"), e.body_code,
                   CaseRow.category_code, CaseRow.case_type, CaseRow.area_code,
                   CaseRow.body_code.label("case_body"), func.count().label("n"),
                   _total(on_time).label("on_time"), _total(e.solved.is_(True)).label("solved"),
                   _total(e.satisfied.is_(True)).label("satisfied"))
            .join(CaseRow, CaseRow.id == e.case_id)
            .where(e.action.in_(COUNTED),
                   # a joint case (联合办理) has no resident: its members are the counted cases
                   CaseRow.joint.is_(False),
                   # a rating counts unless the case's next rating came in its range
                   or_(e.action != "rate", e.next_at.is_(None), not_(in_range(e.next_at))))
            .group_by(*keys))
    if edges[0] is not None:
        stmt = stmt.where(e.at >= edges[0])
    if end is not None:
        stmt = stmt.where(e.at < end)
    with service.session_factory() as session:
        # a read: on SQLite a deferred transaction, so a year's count never holds up a filing
        conn = session.connection(execution_options={READ_ONLY: True})
        if conn.dialect.name == "postgresql":
            # a year's events sort in memory rather than in temporary files (this transaction only)
            conn.execute(text(f"SET LOCAL work_mem = '{SORT_MEMORY}'"))
        return conn.execute(stmt).all()


def _bucket(at, inner: list[datetime], lo: int, hi: int):
    """The bucket `i` of `at` (`inner[i - 1] <= at < inner[i]`) among buckets lo..hi, as
    nested CASEs that halve the range: a month of days is 5 comparisons a row, not 15."""
    if lo == hi:
        return literal(lo)
    mid = (lo + hi + 1) // 2
    return case((at < inner[mid - 1], _bucket(at, inner, lo, mid - 1)),
                else_=_bucket(at, inner, mid, hi))


def _total(cond):
    return literal(0) if cond is None else func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def _lineage(service: CaseService):
    """area code → the codes of it and every area above it; a case without an area counts at
    the center only."""
    catalog, cache = service.catalog, {}

    def up(area: str | None) -> list[str]:
        if area not in cache:
            known = area is None or area in catalog.areas
            cache[area] = [a.code for a in catalog.lineage(area)] if known else [area]
        return cache[area]
    return up


def _next_boundary(day: date, unit: str) -> date:
    if unit == "day":
        return day + timedelta(days=1)
    if unit == "week":
        return day + timedelta(days=7 - day.weekday())
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _utc(day: date, service: CaseService) -> datetime:
    return service.calendar.day_start(day)
