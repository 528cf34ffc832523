"""Random sequences of actions keep the invariants of design.md §4."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select

from bot.cases import ACTIONS, CaseError, Rating
from bot.cases.lifecycle import TERMINAL_STATES, State
from bot.cases.models import CaseRow, EventRow, OutboxRow
from bot.cases.stats import compute
from tests.conftest import Clock, make_container
from tests.helpers import open_case

TEXTS = st.sampled_from([None, "已处理", "需要协调", "内部：已核实"])
TARGETS = st.sampled_from([None, "B-CGJ", "A-S1", "县住房和城乡建设局", "5", "2026-12-31", "nobody"])
RATINGS = st.sampled_from([None, Rating(True, "满意"), Rating(False, "满意"),
                           Rating(True, "不满意"), Rating(True, "基本满意")])
STEP = st.tuples(st.integers(0, 2), st.sampled_from(ACTIONS), TEXTS, TARGETS, RATINGS,
                 st.integers(0, 30))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("props")
    container = make_container(f"sqlite:///{tmp / 'cases.db'}", tmp)
    container.cases.clock = Clock()
    yield container.cases
    container.engine.dispose()


def check_invariants(service, numbers):
    with service._sessions() as s:
        for number in numbers:
            case = s.scalar(select(CaseRow).where(CaseRow.number == number))
            events = s.scalars(select(EventRow).where(EventRow.case_id == case.id)
                               .order_by(EventRow.seq)).all()
            # every change is one event; the chain of states is unbroken
            assert [e.seq for e in events] == list(range(1, len(events) + 1))
            assert events[0].action == "open" and events[0].from_state is None
            for prev, nxt in zip(events, events[1:]):
                assert nxt.from_state == prev.to_state
                assert nxt.at >= prev.at
            assert case.state == events[-1].to_state
            # 1: from assignment on, exactly one body and agent
            if any(e.action == "assign" for e in events):
                assert case.body_code and case.agent_code
            # 2: terminal outcomes carry what they promise
            state = State(case.state)
            if state == State.REFERRED:
                assert any(e.action == "refer" and e.public_text for e in events)
            if state == State.MERGED:
                target = s.get(CaseRow, case.merged_into_id)
                assert target is not None and target.id != case.id
            if state in (State.RESOLVED, State.CLOSED):
                assert any(e.action == "resolve" and e.data.get("text") for e in events)
            # 3: every public event not written by the resident has one outbox row
            outbox = s.scalars(select(OutboxRow).where(OutboxRow.case_id == case.id)).all()
            public = [e.id for e in events if e.public_text and e.actor != "resident"]
            assert sorted(o.event_id for o in outbox) == sorted(public)
    # 6: figures from events are ratios within [0, 1]
    stats = compute(service).to_dict()
    for key in ("response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate"):
        assert stats[key] is None or 0 <= stats[key] <= 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, min_size=1, max_size=25))
def test_random_action_sequences_keep_the_invariants(world, steps):
    numbers = [open_case(world) for _ in range(3)]
    for index, action, text, to, rating, minutes in steps:
        world.clock.advance(minutes=minutes)
        if action == "merge":
            to = numbers[(index + 1) % 3]
        try:
            world.act(numbers[index], action, text=text, to=to, rating=rating,
                      actor="resident" if action in ("add_info", "withdraw", "rate") else "agent")
        except CaseError:
            pass  # refused: must have changed nothing, which the invariants check
    check_invariants(world, numbers)


def test_terminal_cases_refuse_every_state_change(world):
    number = open_case(world, refer="请拨打110")
    for action in ACTIONS:
        if action == "note":
            continue
        with pytest.raises(CaseError):
            world.act(number, action, text="x", to="B-CGJ", rating=Rating(True, "满意"))
    assert State(world.get(number).state) in TERMINAL_STATES
