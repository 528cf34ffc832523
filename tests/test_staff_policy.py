"""The role policy as a table: role × action × own / other case, every cell asserted."""
from __future__ import annotations

import itertools

import pytest

from bot.cases.lifecycle import STATE_LABELS, State
from bot.cases.views import CaseView, EventView
from bot.catalog import Catalog
from bot.settings import ROOT
from bot.staff import policy
from bot.staff.principal import Role, Staff

CATALOG = Catalog.load(ROOT / "data")

AGENT = Staff(1, "wangxj", Role.AGENT, "王小军", agent_code="A-S1P1")
BODY = Staff(2, "sthj", Role.BODY, "环境分局", body_code="B-SthJ")
OPERATOR = Staff(3, "op1", Role.OPERATOR, "话务员甲")
SUPERVISOR = Staff(4, "boss", Role.SUPERVISOR, "督办")
ADMIN = Staff(5, "root", Role.ADMIN, "管理员")
STAFF = {s.role.value: s for s in (AGENT, BODY, OPERATOR, SUPERVISOR, ADMIN)}


def view(*, agent="A-S2P1", area="S2P1G1", body="B-CGJ", opened_by="staff:op2",
         state=State.IN_PROGRESS, pending_extension=None) -> CaseView:
    """A case as the service shows it, owned by whoever the arguments name."""
    opened = EventView(1, "2026-11-23T01:00:00Z", opened_by, "open", None, "received",
                       "已受理", None, None, None, {})
    return CaseView(
        number="20261123-0001", kind="demand", type="投诉", state=state.value,
        state_label=STATE_LABELS[state],
        category={"code": "env.noise", "level1": "环境保护", "level2": "噪声扰民"},
        area={"code": area, "name": CATALOG.areas[area].name} if area else None,
        body={"code": body, "name": CATALOG.bodies[body].name} if body else None,
        agent={"code": agent, "name": CATALOG.agents[agent].name} if agent else None,
        tier="point", summary="楼下噪音", text="楼下烧烤店噪音", place="文化路28号",
        contact="138****5678", contact_name="王*", channel="telegram",
        created_at="2026-11-23T01:00:00Z", sign_due_at=None, due_at=None, overdue=False,
        merged_into=None, pending_extension=pending_extension, events=[opened])


# Each role's own case; "other" is one that belongs to another agent, body and operator.
OWN = {
    "agent": dict(agent="A-S1P1", area="S1P1G1"),
    "body": dict(body="B-SthJ"),
    "operator": dict(opened_by=OPERATOR.actor),
    "supervisor": {},
    "admin": {},
}

WORK = "accept start reply note transfer ask_extension resolve refer withdraw reopen close merge"
SUPERVISE = WORK + " assign extend refuse_extension escalate"
# (role, own|other) → the actions allowed; written out as the issue reads, not derived.
TABLE = {
    ("agent", "own"): WORK, ("agent", "other"): "",
    ("body", "own"): WORK, ("body", "other"): "",
    ("operator", "own"): "note add_info", ("operator", "other"): "",
    ("supervisor", "own"): SUPERVISE, ("supervisor", "other"): SUPERVISE,
    ("admin", "own"): "", ("admin", "other"): "",
}
ACTIONS = sorted(set((WORK + " assign extend refuse_extension escalate add_info rate").split()))
SEES = {("agent", "own"), ("body", "own"), ("operator", "own"), ("supervisor", "own"),
        ("supervisor", "other")}


@pytest.mark.parametrize("role,whose,action",
                         list(itertools.product(STAFF, ("own", "other"), ACTIONS)))
def test_role_action_table(role, whose, action):
    case = view(**(OWN[role] if whose == "own" else {}))
    expected = action in TABLE[(role, whose)].split()
    assert policy.can_act(STAFF[role], case, action, CATALOG) is expected


@pytest.mark.parametrize("role,whose", list(itertools.product(STAFF, ("own", "other"))))
def test_who_sees_which_case(role, whose):
    case = view(**(OWN[role] if whose == "own" else {}))
    assert policy.can_view(STAFF[role], case, CATALOG) is ((role, whose) in SEES)


@pytest.mark.parametrize("field", ["contact_phone", "contact_name", "place"])
@pytest.mark.parametrize("role,whose", list(itertools.product(STAFF, ("own", "other"))))
def test_who_may_reveal(role, whose, field):
    case = view(**(OWN[role] if whose == "own" else {}))
    assert policy.can_reveal(STAFF[role], case, field, CATALOG) is ((role, whose) in SEES)


def test_no_role_reveals_an_unknown_field():
    assert not policy.can_reveal(SUPERVISOR, view(), "text", CATALOG)
    assert not policy.can_reveal(SUPERVISOR, view(), "password_hash", CATALOG)


@pytest.mark.parametrize("role,intake,manage,audit,dashboard", [
    ("agent", False, False, False, False), ("body", False, False, False, True),
    ("operator", True, False, False, False), ("supervisor", True, False, True, True),
    ("admin", False, True, True, True)])
def test_desk_rights(role, intake, manage, audit, dashboard):
    staff = STAFF[role]
    assert policy.can_open_intake(staff) is intake
    assert policy.can_manage_staff(staff) is manage
    assert policy.can_read_audit(staff) is audit
    assert policy.can_see_dashboard(staff) is dashboard


def test_an_agent_sees_the_cases_of_their_point_even_when_escalated_above_it():
    escalated = view(agent="A-S1", area="S1P1G2")       # at the station now, area is the 点's grid
    at_point = view(agent=None, area="S1P1", body=None)  # received at the 点, not assigned yet
    assert policy.can_view(AGENT, escalated, CATALOG)
    assert policy.can_view(AGENT, at_point, CATALOG)
    assert not policy.can_view(AGENT, view(agent="A-S1P2", area="S1P2G1"), CATALOG)


def test_a_station_agent_sees_the_station_area_but_not_the_points_below_it():
    station = Staff(6, "lihm", Role.AGENT, agent_code="A-S1")
    assert policy.point_areas(CATALOG, "A-S1") == {"S1"}
    assert policy.point_areas(CATALOG, "A-S1P1") == {"S1P1", "S1P1G1", "S1P1G2"}
    assert not policy.can_view(station, view(agent="A-S1P1", area="S1P1G1"), CATALOG)
    assert policy.can_view(station, view(agent="A-S1", area="S1P1G1"), CATALOG)


def test_misconfigured_accounts_see_nothing():
    for staff in (Staff(7, "x", Role.AGENT), Staff(8, "y", Role.AGENT, agent_code="A-NOPE"),
                  Staff(9, "z", Role.BODY)):
        assert policy.scope(staff, CATALOG).nothing
        assert not policy.can_view(staff, view(agent=None, area=None, body=None), CATALOG)


def test_an_operator_is_not_taken_for_the_opener_without_the_timeline():
    case = view(opened_by=OPERATOR.actor)
    case.events = []
    assert not policy.can_view(OPERATOR, case, CATALOG)


def test_actions_for_offers_what_the_role_may_and_the_state_allows():
    own = OWN["agent"]
    assert policy.actions_for(AGENT, view(state=State.ASSIGNED, **own), CATALOG) == [
        "accept", "reply", "note", "transfer", "ask_extension", "refer", "withdraw", "merge"]
    assert policy.actions_for(AGENT, view(state=State.RESOLVED, **own), CATALOG) == [
        "note", "reopen", "close"]
    assert policy.actions_for(AGENT, view(state=State.CLOSED, **own), CATALOG) == ["note"]
    assert policy.actions_for(AGENT, view(state=State.IN_PROGRESS), CATALOG) == []
    assert "rate" not in policy.actions_for(SUPERVISOR, view(state=State.RESOLVED), CATALOG)


def test_extension_decisions_follow_the_pending_request():
    request = {"to": "10", "due_at": "2026-12-10T15:59:59Z", "reason": "需协调", "by": "staff:x"}
    idle = policy.actions_for(SUPERVISOR, view(), CATALOG)
    asked = policy.actions_for(SUPERVISOR, view(pending_extension=request), CATALOG)
    assert "ask_extension" in idle and "refuse_extension" not in idle and "extend" in idle
    assert "ask_extension" not in asked and {"refuse_extension", "extend", "escalate"} <= set(asked)
    worker = policy.actions_for(AGENT, view(pending_extension=request, **OWN["agent"]), CATALOG)
    assert not {"extend", "refuse_extension", "escalate", "ask_extension"} & set(worker)


def test_operator_on_own_case_may_note_and_add_info_only_where_open():
    own = OWN["operator"]
    assert policy.actions_for(OPERATOR, view(state=State.ASSIGNED, **own), CATALOG) == [
        "note", "add_info"]
    assert policy.actions_for(OPERATOR, view(state=State.CLOSED, **own), CATALOG) == ["note"]


def test_the_docstring_table_names_every_action_the_policy_knows():
    doc = policy.__doc__
    for action in (*policy.STAFF_ACTIONS, "rate"):
        assert action in doc
