"""Every allowed and every forbidden transition of the lifecycle, on a real database."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.cases import ACTIONS, IllegalTransition, State
from bot.cases.lifecycle import OPEN_STATES, TERMINAL_STATES, TRANSITIONS
from bot.cases.models import EventRow, OutboxRow
from tests.conftest import make_container
from tests.helpers import case_in_state, valid_args


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lifecycle")
    container = make_container(f"sqlite:///{tmp / 'cases.db'}", tmp)
    yield container.cases
    container.engine.dispose()


def _counts(service, number):
    with service._sessions() as session:
        events = session.scalar(select(func.count()).select_from(EventRow)
                                .join(EventRow.case).where(EventRow.case.has(number=number)))
        outbox = session.scalar(select(func.count()).select_from(OutboxRow))
    return events, outbox


ALL = [(state, action) for state in State for action in ACTIONS]


@pytest.mark.parametrize("state,action", ALL, ids=[f"{s.value}-{a}" for s, a in ALL])
def test_transition(service, state, action):
    number = case_in_state(service, state)
    args = valid_args(service, action)
    sources, target = TRANSITIONS[action]
    if action == "refuse_extension" and state in sources:     # a refusal needs a request
        service.act(number, "ask_extension", **valid_args(service, "ask_extension"))
    before = _counts(service, number)
    if state in sources:
        view = service.act(number, action, **args)
        expected = (target or state).value
        # a bad rating reopens at once; a good one keeps the state
        assert view.state == expected
        assert view.events[-1].action == action
        assert view.events[-1].from_state == state.value
    else:
        with pytest.raises(IllegalTransition) as err:
            service.act(number, action, **args)
        assert "不能" in err.value.zh
        assert _counts(service, number)[0] == before[0], "a refused action must write nothing"
        assert service.get(number).state == state.value


def test_every_open_state_can_reach_a_terminal_outcome():
    """Invariant 2 on the graph: from each non-terminal state a terminal one is reachable."""
    graph = {s: {t or s for a, (src, t) in TRANSITIONS.items() if s in src} for s in State}
    for start in set(State) - TERMINAL_STATES:
        seen, frontier = {start}, [start]
        while frontier:
            for nxt in graph[frontier.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        assert seen & TERMINAL_STATES, start


def test_terminal_states_are_final():
    for state in TERMINAL_STATES:
        movers = [a for a, (src, t) in TRANSITIONS.items() if state in src and t not in (None, state)]
        assert movers == [], (state, movers)
    assert State.RESOLVED not in OPEN_STATES
