"""The case lifecycle in Open311's words: `open`/`closed`, and mySociety's update states."""
from __future__ import annotations

from bot.cases.lifecycle import State

OPEN = {State.RECEIVED, State.ASSIGNED, State.ACCEPTED, State.IN_PROGRESS}

# mySociety's servicerequestupdates states (FixMyStreet reads these)
MYSOCIETY = {
    State.RECEIVED: "open", State.ASSIGNED: "open", State.ACCEPTED: "action_scheduled",
    State.IN_PROGRESS: "in_progress", State.RESOLVED: "fixed", State.CLOSED: "fixed",
    State.REFERRED: "not_councils_responsibility", State.MERGED: "duplicate",
    State.WITHDRAWN: "no_further_action",
}


def status(state: str) -> str:
    """GeoReport v2 status: a resolved case is `closed` (the outcome is in status_notes)."""
    return "open" if State(state) in OPEN else "closed"


def states_for(status_value: str) -> list[str]:
    """The lifecycle states an Open311 `status` filter value stands for."""
    wanted = OPEN if status_value == "open" else set(State) - OPEN
    return sorted(s.value for s in wanted)


def update_state(action: str, to_state: str) -> str:
    """The mySociety state of one event: a transfer between bodies is an internal referral."""
    if action == "transfer":
        return "internal_referral"
    return MYSOCIETY[State(to_state)]
