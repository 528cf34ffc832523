"""Read models: what the service returns. Stable JSON shapes documented in README.

Every view masks personal data inside free text when it is built (`bot.privacy`), so lists,
exports, pushes and API answers show 138****5678 even for rows written before masking on
write existed; only the contact fields are masked by their own rule."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from bot.cases.lifecycle import STATE_LABELS, State
from bot.privacy import mask_text, mask_value


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

    def __post_init__(self) -> None:
        self.public_text = mask_text(self.public_text)
        self.internal_note = mask_text(self.internal_note)
        self.data = mask_value(self.data or {})

    def public(self) -> dict:
        """What a resident may see of this event."""
        return {"at": self.at, "action": self.action, "state": self.to_state,
                "state_label": STATE_LABELS[State(self.to_state)], "text": self.public_text}


@dataclass
class CaseView:
    number: str
    kind: str
    type: str | None      # 12345 type: 咨询 求助 投诉 举报 建议 表扬
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
    # the extension request awaiting a supervisor {"to", "due_at", "reason", "by", "at"};
    # filled where the view carries its events (one case), None in lists
    pending_extension: dict | None = None
    events: list[EventView] = field(default_factory=list)
    # 联合办理 (filled where the view is of one case): whether this is a joint case, the joint
    # case it is in, and a joint case's members [{"number", "state", "state_label", "summary"}]
    joint: bool = False
    joint_case: str | None = None
    joint_members: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.summary = mask_text(self.summary)
        self.text = mask_text(self.text)
        self.place = mask_text(self.place)

    def to_dict(self) -> dict:
        return asdict(self)

    def public(self) -> dict:
        """The resident's view: no internal notes, no staff names."""
        return {
            "number": self.number, "state": self.state, "state_label": self.state_label,
            "category": self.category, "body": self.body and {"name": self.body["name"]},
            "summary": self.summary, "created_at": self.created_at, "due_at": self.due_at,
            "merged_into": self.merged_into, "joint_case": self.joint_case,
            "events": [e.public() for e in self.events if e.public_text],
        }
