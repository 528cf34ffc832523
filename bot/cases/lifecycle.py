"""The case lifecycle of design.md §3 as an explicit state machine."""
from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    RECEIVED = "received"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REFERRED = "referred"
    MERGED = "merged"
    WITHDRAWN = "withdrawn"


STATE_LABELS = {
    State.RECEIVED: "已受理", State.ASSIGNED: "已派单", State.ACCEPTED: "已签收",
    State.IN_PROGRESS: "办理中", State.RESOLVED: "已办结", State.CLOSED: "已归档",
    State.REFERRED: "已转介", State.MERGED: "已并单", State.WITHDRAWN: "已撤回",
}

OPEN_STATES = frozenset({State.RECEIVED, State.ASSIGNED, State.ACCEPTED, State.IN_PROGRESS})
WORKING_STATES = frozenset({State.ASSIGNED, State.ACCEPTED, State.IN_PROGRESS})
TERMINAL_STATES = frozenset({State.CLOSED, State.REFERRED, State.MERGED, State.WITHDRAWN})

# action -> (states it may start from, state it leads to; None keeps the state)
TRANSITIONS: dict[str, tuple[frozenset[State], State | None]] = {
    "assign": (frozenset({State.RECEIVED}), State.ASSIGNED),
    "accept": (frozenset({State.ASSIGNED}), State.ACCEPTED),
    "start": (frozenset({State.ACCEPTED}), State.IN_PROGRESS),
    "reply": (WORKING_STATES, None),
    "note": (frozenset(State), None),
    "transfer": (WORKING_STATES, State.ASSIGNED),
    "extend": (WORKING_STATES, None),
    "ask_extension": (WORKING_STATES, None),       # a handler asks; a supervisor decides
    "refuse_extension": (WORKING_STATES, None),
    "escalate": (OPEN_STATES, State.ASSIGNED),
    "resolve": (frozenset({State.ACCEPTED, State.IN_PROGRESS}), State.RESOLVED),
    "rate": (frozenset({State.RESOLVED}), None),
    "reopen": (frozenset({State.RESOLVED}), State.IN_PROGRESS),
    "close": (frozenset({State.RESOLVED}), State.CLOSED),
    "withdraw": (OPEN_STATES, State.WITHDRAWN),
    "refer": (frozenset({State.RECEIVED, State.ASSIGNED}), State.REFERRED),
    "merge": (OPEN_STATES, State.MERGED),
    "add_info": (OPEN_STATES, None),
    # 联合办理: a working case joins a supervisor's joint case and is worked on under it
    "join": (WORKING_STATES, State.IN_PROGRESS),
}
ACTIONS = tuple(TRANSITIONS)

ACTION_LABELS = {
    "open": "受理", "assign": "派单", "accept": "签收", "start": "开始办理", "reply": "答复",
    "note": "内部备注", "transfer": "转办", "extend": "延期", "ask_extension": "申请延期",
    "refuse_extension": "驳回延期", "escalate": "督办",
    "resolve": "办结", "rate": "回访评价", "reopen": "重办", "close": "归档",
    "withdraw": "撤回", "refer": "转介", "merge": "并单", "add_info": "补充材料",
    "join": "联合办理",
}


def next_state(action: str, current: State) -> State:
    """The state after `action`, or raise `IllegalTransition`."""
    from bot.cases.errors import IllegalTransition

    if action not in TRANSITIONS:
        raise IllegalTransition(action, current)
    sources, target = TRANSITIONS[action]
    if current not in sources:
        raise IllegalTransition(action, current)
    return target or current
