"""三率 and 按时办结率, computed from events only (design.md §4.6), never from side counters.

响应率     = assignments signed before their sign deadline / assignments
解决率     = cases rated solved / cases rated            (latest rating per case in the period)
满意率     = cases rated 满意 or 基本满意 / cases rated
按时办结率 = resolutions before the due date / resolutions

`by_type` gives the same per 12345 type (咨询 求助 投诉 举报 建议 表扬; "-" for cases opened
before types were recorded) and `opened`, the cases of that type opened in the period.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone

from bot.cases.errors import InvalidInput
from bot.cases.queries import CaseQueries
from bot.cases.service import CaseService

ASSIGNING = ("assign", "transfer", "escalate")
# Years a period may name: well before any case, and far enough ahead that the period's end
# (the next year's first day, in local time) is still a date Python can hold.
MIN_YEAR, MAX_YEAR = 1970, 2999


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
    opened_by_type: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def to_dict(self) -> dict:
        return {
            "period": self.period,
            "from": self.start.isoformat() + "Z" if self.start else None,
            "to": self.end.isoformat() + "Z" if self.end else None,
            **self.overall.to_dict(),
            "by_body": {k: v.to_dict() for k, v in sorted(self.by_body.items())},
            "by_category": {k: v.to_dict() for k, v in sorted(self.by_category.items())},
            "by_type": {k: {"opened": self.opened_by_type.get(k, 0),
                            **self.by_type[k].to_dict()}
                        for k in sorted(set(self.by_type) | set(self.opened_by_type))},
        }


def parse_period(period: str | None, service: CaseService) -> tuple[datetime | None, datetime | None]:
    """'2026Q4', '2026-11', '2026' or None (all time) → [start, end) in naive UTC."""
    if not period:
        return None, None
    match = re.fullmatch(r"(\d{4})(?:Q([1-4])|-(\d{1,2}))?", period.strip())
    if not match:
        raise InvalidInput(f"bad period {period!r}", f"统计周期格式不对：{period}（例如 2026Q4、2026-11、2026）")
    year, quarter, month = int(match[1]), match[2], match[3]
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInput(f"year {year} out of range {MIN_YEAR}-{MAX_YEAR}",
                           f"统计年份不对：{match[1]}（应在 {MIN_YEAR} 到 {MAX_YEAR} 年之间）")
    if quarter:
        first, last = (int(quarter) - 1) * 3 + 1, (int(quarter) - 1) * 3 + 4
    elif month:
        first, last = int(month), int(month) + 1
        if not 1 <= first <= 12:
            raise InvalidInput(f"bad month {month}", f"月份不对：{month}")
    else:
        first, last = 1, 13
    start = date(year, first, 1)
    end = date(year + (last - 1) // 12, (last - 1) % 12 + 1, 1)

    def utc(day: date) -> datetime:
        local = datetime.combine(day, time(), tzinfo=service.calendar.tz)
        return local.astimezone(timezone.utc).replace(tzinfo=None)

    return utc(start), utc(end)


def compute(service: CaseService, period: str | None = None) -> Stats:
    start, end = parse_period(period, service)
    stats = Stats(period or "all", start, end)

    def inside(moment: datetime) -> bool:
        return (start is None or moment >= start) and (end is None or moment < end)

    rows = CaseQueries(service).stat_events(ASSIGNING + ("accept", "resolve", "rate", "open"),
                                            before=end)

    types: dict[int, str] = {}

    def tallies(body: str | None, category: str, case_id: int) -> list[Tally]:
        return [stats.overall, stats.by_body[body or "-"], stats.by_category[category],
                stats.by_type[types[case_id]]]

    pending_sign: dict[int, tuple[datetime | None, str | None, str]] = {}
    last_rating: dict[int, tuple[dict, str | None, str]] = {}
    for case_id, action, at, body, data, category, case_type in rows:
        data = data or {}
        types[case_id] = case_type or "-"
        if action == "open":
            if inside(at):
                stats.opened_by_type[types[case_id]] += 1
        elif action in ASSIGNING:
            if inside(at):
                for t in tallies(body, category, case_id):
                    t.assigned += 1
                pending_sign[case_id] = (_parse(data.get("sign_due_at")), body, category)
            else:
                pending_sign.pop(case_id, None)
        elif action == "accept" and case_id in pending_sign:
            due, a_body, a_category = pending_sign.pop(case_id)
            if due is None or at <= due:
                for t in tallies(a_body, a_category, case_id):
                    t.signed_on_time += 1
        elif action == "resolve" and inside(at):
            due = _parse(data.get("due_at"))
            for t in tallies(body, category, case_id):
                t.resolved += 1
                if due is None or at <= due:
                    t.resolved_on_time += 1
        elif action == "rate" and inside(at):
            last_rating[case_id] = (data, body, category)
    for case_id, (data, body, category) in last_rating.items():
        for t in tallies(body, category, case_id):
            t.rated += 1
            t.solved += bool(data.get("solved"))
            t.satisfied += data.get("satisfaction") in ("满意", "基本满意")
    return stats


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.rstrip("Z")) if value else None
