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
count per day, week or month of a period (the dashboard's trend charts), one pass over events.
"""
from __future__ import annotations

import bisect
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select

from bot.cases.errors import InvalidInput
from bot.cases.models import CaseRow
from bot.cases.queries import CaseQueries
from bot.cases.service import CaseService

ASSIGNING = ("assign", "transfer", "escalate")
# Years a period may name: well before any case, and far enough ahead that the period's end
# (the next year's first day, in local time) is still a date Python can hold.
MIN_YEAR, MAX_YEAR = 1970, 2999
MAX_RANGE_DAYS = 366 * 5          # a custom range longer than five years is refused
MAX_BUCKETS = 400                 # points of one trend chart
UNITS = {"day": "日", "week": "周", "month": "月"}
PERIOD_HELP = "例如 2026、2026Q4、2026-11、2026-W48、2026-11-05 或 2026-11-01..2026-11-30"
_PERIOD = re.compile(r"(\d{4})(?:Q([1-4])|-W(\d{1,2})|-(\d{1,2})(?:-(\d{1,2}))?)?")


@dataclass
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

    def slot(moment: datetime) -> Stats | None:
        inside = (start is None or moment >= start) and (end is None or moment < end)
        return stats if inside else None

    _count(service, slot, end, body)
    return stats


def series(service: CaseService, period: str, unit: str = "day", *,
           body: str | None = None) -> list[Stats]:
    """The period's figures per local day, ISO week or month (buckets clipped to the period)."""
    if unit not in UNITS:
        raise InvalidInput(f"unknown unit {unit!r}", f"趋势的时间单位只能是 日、周、月（day/week/month）")
    first, stop = local_range(period)
    days = [first]
    while days[-1] < stop:
        days.append(min(_next_boundary(days[-1], unit), stop))
        if len(days) > MAX_BUCKETS + 1:
            raise InvalidInput("too many points", f"时段太长，按{UNITS[unit]}画不下，请换更大的时间单位")
    edges = [_utc(d, service) for d in days]
    buckets = [Stats(d.isoformat(), a, b) for d, a, b in zip(days, edges, edges[1:])]

    def slot(moment: datetime) -> Stats | None:
        index = bisect.bisect_right(edges, moment) - 1
        return buckets[index] if 0 <= index < len(buckets) else None

    _count(service, slot, edges[-1], body)
    return buckets


def _count(service: CaseService, slot, end: datetime | None, body: str | None) -> None:
    """The one pass over events behind `compute` and `series`: each event counts in the
    Stats that `slot(moment)` gives (None: outside every bucket)."""
    rows = CaseQueries(service).stat_events(ASSIGNING + ("accept", "resolve", "rate", "open"),
                                            before=end)
    places = _case_places(service)
    lineage = _lineage(service)
    types: dict[int, str] = {}

    def tallies(into: Stats, t_body: str | None, category: str, case_id: int) -> list[Tally]:
        if body is not None and t_body != body:
            return []
        area = places.get(case_id, (None, None))[0]
        return [into.overall, into.by_body[t_body or "-"], into.by_category[category],
                into.by_type[types[case_id]], *(into.by_area[a] for a in lineage(area))]

    pending_sign: dict[int, tuple[datetime | None, str | None, str, Stats]] = {}
    last_rating: dict[int, tuple[dict, str | None, str, Stats]] = {}
    for case_id, action, at, e_body, data, category, case_type in rows:
        data = data or {}
        types[case_id] = case_type or "-"
        into = slot(at)
        if action == "open":
            area, c_body = places.get(case_id, (None, None))
            if into is not None and (body is None or c_body == body):
                into.opened += 1
                into.opened_by_type[types[case_id]] += 1
                into.opened_by_category[category] += 1
                for a in lineage(area):
                    into.opened_by_area[a] += 1
        elif action in ASSIGNING:
            if into is not None:
                for t in tallies(into, e_body, category, case_id):
                    t.assigned += 1
                pending_sign[case_id] = (_parse(data.get("sign_due_at")), e_body, category, into)
            else:
                pending_sign.pop(case_id, None)
        elif action == "accept" and case_id in pending_sign:
            due, a_body, a_category, a_into = pending_sign.pop(case_id)
            if due is None or at <= due:
                for t in tallies(a_into, a_body, a_category, case_id):
                    t.signed_on_time += 1
        elif action == "resolve" and into is not None:
            due = _parse(data.get("due_at"))
            for t in tallies(into, e_body, category, case_id):
                t.resolved += 1
                if due is None or at <= due:
                    t.resolved_on_time += 1
        elif action == "rate" and into is not None:
            last_rating[case_id] = (data, e_body, category, into)
    for case_id, (data, r_body, category, into) in last_rating.items():
        for t in tallies(into, r_body, category, case_id):
            t.rated += 1
            t.solved += bool(data.get("solved"))
            t.satisfied += data.get("satisfaction") in ("满意", "基本满意")


def _case_places(service: CaseService) -> dict[int, tuple[str | None, str | None]]:
    """Each case's (area, body) now: the area a case counts in, the body that holds it."""
    with service.session_factory() as session:
        rows = session.execute(select(CaseRow.id, CaseRow.area_code, CaseRow.body_code)).all()
    return {case_id: (area, body) for case_id, area, body in rows}


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
    local = datetime.combine(day, time(), tzinfo=service.calendar.tz)
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.rstrip("Z")) if value else None
