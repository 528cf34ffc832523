"""Extension requests (申请延期): a handler asks for a later deadline, a supervisor approves it
(the `extend` action) or refuses it (`refuse_extension`). No column holds the request: it is
the last `ask_extension` event not yet followed by an `extend` or a refusal."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.cases.lifecycle import WORKING_STATES, State
from bot.cases.views import iso

ASK, APPROVE, REFUSE = "ask_extension", "extend", "refuse_extension"
ACTIONS = (ASK, APPROVE, REFUSE)


def pending(events: Iterable[dict], state: str) -> dict | None:
    """The request still waiting for a supervisor, as {"to", "due_at", "reason", "by", "at"};
    None when there is none or the case is no longer being worked."""
    found = None
    for event in events:
        if event["action"] == ASK:
            data = event["data"] or {}
            at = event["at"]
            found = {"to": data.get("to"), "due_at": data.get("due_at"),
                     "reason": data.get("reason"), "by": event["actor"],
                     "at": iso(at) if isinstance(at, datetime) else at}
        elif event["action"] in (APPROVE, REFUSE):
            found = None
    return found if State(state) in WORKING_STATES else None
