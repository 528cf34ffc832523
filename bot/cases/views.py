"""Read models: what the service returns. Stable JSON shapes documented in README."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from bot.cases.lifecycle import STATE_LABELS, State


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


@dataclass
class EventView:
    seq: int
    at: str
    actor: str
    action: str
    from_state: str | None
    to_state: str
    public_text: str | None
    internal_note: str | None
    body: str | None
    agent: str | None
    data: dict

    def public(self) -> dict:
        """What a resident may see of this event."""
        return {"at": self.at, "action": self.action, "state": self.to_state,
                "state_label": STATE_LABELS[State(self.to_state)], "text": self.public_text}


@dataclass
class CaseView:
    number: str
    kind: str
    state: str
    state_label: str
    category: dict
    area: dict | None
    body: dict | None
    agent: dict | None
    tier: str
    summary: str
    text: str
    place: str | None
    contact: str | None
    contact_name: str | None
    channel: str | None
    created_at: str
    sign_due_at: str | None
    due_at: str | None
    overdue: bool
    merged_into: str | None
    events: list[EventView] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def public(self) -> dict:
        """The resident's view: no internal notes, no staff names."""
        return {
            "number": self.number, "state": self.state, "state_label": self.state_label,
            "category": self.category, "body": self.body and {"name": self.body["name"]},
            "summary": self.summary, "created_at": self.created_at, "due_at": self.due_at,
            "merged_into": self.merged_into,
            "events": [e.public() for e in self.events if e.public_text],
        }
