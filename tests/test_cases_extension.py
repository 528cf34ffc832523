"""Extension requests: a handler asks (申请延期), a supervisor approves (延期) or refuses
(驳回延期), always with a reason; only an approval reaches the resident."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cases import IllegalTransition, InvalidInput, State
from bot.cases.lifecycle import ACTION_LABELS
from bot.cases.models import OutboxRow
from tests.helpers import case_in_state, open_case

AGENT, SUPERVISOR = "staff:agent1", "staff:boss"


def _outbox(service) -> int:
    with service._sessions() as session:
        return session.scalar(select(func.count()).select_from(OutboxRow))


def test_labels_in_chinese():
    assert ACTION_LABELS["ask_extension"] == "申请延期"
    assert ACTION_LABELS["refuse_extension"] == "驳回延期"


def test_request_is_internal_and_shown_as_pending(service):
    number = case_in_state(service, State.IN_PROGRESS)
    before, sent = service.get(number), _outbox(service)
    view = service.act(number, "ask_extension", actor=AGENT, to="2026-12-10",
                       text="需要等住建局现场勘验")
    event = view.events[-1]
    assert view.state == "in_progress" and view.due_at == before.due_at
    assert event.public_text is None and "需要等住建局现场勘验" in event.internal_note
    assert event.data["to"] == "2026-12-10" and event.data["reason"] == "需要等住建局现场勘验"
    assert _outbox(service) == sent, "a request says nothing to the resident"
    assert view.pending_extension == {"to": "2026-12-10", "due_at": "2026-12-10T15:59:59Z",
                                      "reason": "需要等住建局现场勘验", "by": AGENT,
                                      "at": event.at}
    assert view.to_dict()["pending_extension"]["by"] == AGENT
    assert "申请" not in json.dumps(view.public(), ensure_ascii=False)


def test_approval_without_date_uses_the_request_and_tells_the_resident(service):
    number = case_in_state(service, State.ACCEPTED)
    service.act(number, "ask_extension", actor=AGENT, to="10", text="涉及两个部门，需要协调")
    asked = service.get(number).pending_extension
    sent = _outbox(service)
    view = service.act(number, "extend", actor=SUPERVISOR)
    assert view.pending_extension is None
    assert view.due_at == asked["due_at"]
    event = view.events[-1]
    assert event.data["request"]["by"] == AGENT and event.data["reason"] == "涉及两个部门，需要协调"
    assert "延长至" in event.public_text and "涉及两个部门" in event.public_text
    assert _outbox(service) == sent + 1


def test_approval_may_set_another_date_and_reason(service):
    number = case_in_state(service, State.IN_PROGRESS)
    service.act(number, "ask_extension", actor=AGENT, to="20", text="材料未齐")
    view = service.act(number, "extend", actor=SUPERVISOR, to="5", text="给五个工作日补齐材料")
    assert view.pending_extension is None
    assert view.events[-1].data["reason"] == "给五个工作日补齐材料"
    assert view.due_at < service.calendar.add_working_days(
        service.clock(), 30).isoformat() + "Z"


def test_refusal_needs_a_pending_request_and_a_reason(service):
    number = case_in_state(service, State.IN_PROGRESS)
    with pytest.raises(InvalidInput) as err:
        service.act(number, "refuse_extension", actor=SUPERVISOR, text="不同意")
    assert "没有待审批的延期申请" in err.value.zh
    service.act(number, "ask_extension", actor=AGENT, to="10", text="商户不配合")
    with pytest.raises(InvalidInput) as err:
        service.act(number, "refuse_extension", actor=SUPERVISOR)
    assert "理由" in err.value.zh
    sent = _outbox(service)
    view = service.act(number, "refuse_extension", actor=SUPERVISOR, text="期限内可以办完，请抓紧")
    assert view.pending_extension is None and view.state == "in_progress"
    event = view.events[-1]
    assert event.public_text is None and "期限内可以办完" in event.internal_note
    assert event.data["request"]["reason"] == "商户不配合"
    assert _outbox(service) == sent
    # a refused request can be followed by a new one
    again = service.act(number, "ask_extension", actor=AGENT, to="3", text="商户已答应三天内整改")
    assert again.pending_extension["reason"] == "商户已答应三天内整改"


def test_one_pending_request_at_a_time(service):
    number = case_in_state(service, State.IN_PROGRESS)
    service.act(number, "ask_extension", actor=AGENT, to="10", text="需协调")
    events = len(service.get(number).events)
    with pytest.raises(InvalidInput) as err:
        service.act(number, "ask_extension", actor=AGENT, to="12", text="再延一点")
    assert "等待督办审批" in err.value.zh
    assert len(service.get(number).events) == events


@pytest.mark.parametrize("args,needle", [
    ({"to": "10"}, "原因"), ({"text": "需协调"}, "新期限"),
    ({"to": "2020-01-01", "text": "需协调"}, "晚于当前期限"),
    ({"to": "61", "text": "需协调"}, "1 到 60"), ({"to": "明天", "text": "需协调"}, "格式"),
])
def test_bad_requests_are_refused_in_chinese(service, args, needle):
    number = case_in_state(service, State.IN_PROGRESS)
    with pytest.raises(InvalidInput) as err:
        service.act(number, "ask_extension", actor=AGENT, **args)
    assert needle in err.value.zh
    assert service.get(number).pending_extension is None


@pytest.mark.parametrize("state", [State.RECEIVED, State.RESOLVED, State.CLOSED, State.WITHDRAWN])
def test_only_working_cases_take_requests(service, state):
    number = case_in_state(service, state)
    with pytest.raises(IllegalTransition) as err:
        service.act(number, "ask_extension", actor=AGENT, to="10", text="需协调")
    assert "申请延期" in err.value.zh


def test_a_resolved_case_has_no_pending_request(service):
    number = case_in_state(service, State.IN_PROGRESS)
    service.act(number, "ask_extension", actor=AGENT, to="10", text="需协调")
    view = service.act(number, "resolve", actor=AGENT, text="已提前办完")
    assert view.pending_extension is None
    assert service.list_cases(limit=1)[0].pending_extension is None


def test_cli_takes_the_new_actions(container, monkeypatch):
    from bot import cli

    monkeypatch.setattr(cli, "_container", lambda: container)
    number = open_case(container.cases)
    container.cases.act(number, "accept")
    runner = CliRunner()
    asked = runner.invoke(cli.main, ["case", "act", number, "ask_extension", "--to", "10",
                                     "--text", "需要现场勘验", "--json"])
    assert asked.exit_code == 0, asked.output
    assert json.loads(asked.stdout)["pending_extension"]["reason"] == "需要现场勘验"
    refused = runner.invoke(cli.main, ["case", "act", number, "refuse_extension", "--json"])
    assert refused.exit_code != 0 and "理由" in refused.output
    approved = runner.invoke(cli.main, ["case", "act", number, "extend", "--json"])
    assert approved.exit_code == 0, approved.output
    assert json.loads(approved.stdout)["pending_extension"] is None
