"""What a resident sees of their own cases: `CaseView.public()` plus display labels."""
from __future__ import annotations

from datetime import datetime

from bot.cases.calendar import WorkCalendar
from bot.cases.messages import deadline_label
from bot.cases.service import CaseService
from bot.cases.views import CaseView

CHANNEL = "webchat"


def card(view: CaseView, calendar: WorkCalendar) -> dict:
    data = view.public()
    data["events"] = [{**e.public(), "seq": e.seq} for e in view.events if e.public_text]
    data["category_label"] = " · ".join(x for x in (view.category.get("level1"),
                                                    view.category.get("level2")) if x)
    data["due_label"] = deadline_label(calendar, _parse(view.due_at)) if view.due_at else None
    data["overdue"] = view.overdue
    return data


def my_cases(service: CaseService, session: str, limit: int = 20) -> list[dict]:
    views = service.list_cases(channel=CHANNEL, address=session, limit=limit)
    return [card(service.get(v.number), service.calendar) for v in views]


def my_case(service: CaseService, session: str, number: str) -> dict | None:
    """The case if this session opened it; None otherwise (never says whether it exists)."""
    if not service.owns(number, CHANNEL, session):
        return None
    return card(service.get(number), service.calendar)


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.rstrip("Z"))
