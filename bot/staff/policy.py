"""Who may see and do what in the console: the one place that decides it (issue 11).

"Own" case, per role (everything else is "other"):
  agent      the case's agent is theirs (case.agent.code == staff.agent_code), or the case's
             area is their 点: their agent's area and the areas under it that have no agent of
             their own (a 代理点's grids). An escalated case stays visible to the 点 it came from.
  body       the case's body is theirs (case.body.code == staff.body_code)
  operator   they opened it: the case's first event has their actor ("staff:<username>")
  supervisor every case is own
  admin      no case is own: an admin manages accounts and reads the audit log, and sees no
             case content (an account manager with a view of every case would be an unaudited
             way around the personal-data rules; give the person a supervisor account instead)

The table (✓ allowed, · refused); "rate" is the resident's and no staff role may do it:

  what                                   agent/body    operator      supervisor  admin
                                         own   other   own   other
  view the case                          ✓     ·       ✓     ·       ✓           ·
  accept start reply transfer resolve    ✓     ·       ·     ·       ✓           ·
  refer withdraw reopen close merge
  ask_extension                          ✓     ·       ·     ·       ✓           ·
  note                                   ✓     ·       ✓     ·       ✓           ·
  add_info                               ·     ·       ✓     ·       ·           ·
  assign extend refuse_extension         ·     ·       ·     ·       ✓           ·
  escalate
  rate                                   ·     ·       ·     ·       ·           ·
  reveal phone, name, exact address      ✓     ·       ✓     ·       ✓           ·
  open cases from transcripts (intake)   ·             ✓             ✓           ·
  manage staff accounts                  ·             ·             ·           ✓
  read the audit log                     ·             ·             ✓           ✓

`can_act` answers for the role only; whether the case's state allows the action is the
lifecycle's (an illegal transition is a 409, not a 403). `actions_for` combines both for what a
page may offer. Queries build their SQL from `scope`, so lists and `can_view` never disagree.
A merge names a second case: callers check `can_view` on the target too.
"""
from __future__ import annotations

from dataclasses import dataclass

from bot.cases.lifecycle import TRANSITIONS, State
from bot.cases.views import CaseView
from bot.catalog import Catalog
from bot.staff.principal import Role, Staff

WORK_ACTIONS = ("accept", "start", "reply", "note", "transfer", "ask_extension", "resolve",
                "refer", "withdraw", "reopen", "close", "merge")
SUPERVISOR_ONLY = ("assign", "extend", "refuse_extension", "escalate")
OPERATOR_ACTIONS = ("note", "add_info")
RESIDENT_ONLY = ("rate",)
STAFF_ACTIONS = (*WORK_ACTIONS, *SUPERVISOR_ONLY, "add_info")   # every action a page may name

_ACTIONS: dict[Role, frozenset[str]] = {
    Role.AGENT: frozenset(WORK_ACTIONS),
    Role.BODY: frozenset(WORK_ACTIONS),
    Role.OPERATOR: frozenset(OPERATOR_ACTIONS),
    Role.SUPERVISOR: frozenset((*WORK_ACTIONS, *SUPERVISOR_ONLY)),
    Role.ADMIN: frozenset(),
}

# Fields of personal data a role that works the case may reveal (audited, bot.staff.audit).
REVEALABLE = {"contact_phone": "联系电话", "contact_name": "联系人姓名", "place": "详细地址"}


@dataclass(frozen=True)
class Scope:
    """The cases a staff member sees: `everything`, or any case matching one of the sets."""
    everything: bool = False
    agents: frozenset[str] = frozenset()
    areas: frozenset[str] = frozenset()
    bodies: frozenset[str] = frozenset()
    opened_by: str | None = None       # actor of the case's first event

    @property
    def nothing(self) -> bool:
        return not (self.everything or self.agents or self.areas or self.bodies or self.opened_by)

    def contains(self, case: CaseView) -> bool:
        if self.everything:
            return True
        if case.agent and case.agent["code"] in self.agents:
            return True
        if case.area and case.area["code"] in self.areas:
            return True
        if case.body and case.body["code"] in self.bodies:
            return True
        return bool(self.opened_by and case.events and case.events[0].actor == self.opened_by)


def point_areas(catalog: Catalog, agent_code: str) -> frozenset[str]:
    """An agent's 点: their area and the areas below it served by no agent of their own."""
    agent = catalog.agents.get(agent_code)
    if agent is None:
        return frozenset()
    return frozenset(catalog.subtree(agent.area, keep=lambda area: area.agent is None))


def scope(staff: Staff, catalog: Catalog) -> Scope:
    """The cases `staff` sees and (except operators, who only note) works."""
    role = Role(staff.role)
    if role is Role.SUPERVISOR:
        return Scope(everything=True)
    if role is Role.AGENT and staff.agent_code in catalog.agents:
        area = catalog.agents[staff.agent_code].area
        same_area = {a.code for a in catalog.agents.values() if a.area == area}
        return Scope(agents=frozenset({staff.agent_code, *same_area}),
                     areas=point_areas(catalog, staff.agent_code))
    if role is Role.BODY and staff.body_code:
        return Scope(bodies=frozenset({staff.body_code}))
    if role is Role.OPERATOR:
        return Scope(opened_by=staff.actor)
    return Scope()


def can_view(staff: Staff, case: CaseView, catalog: Catalog) -> bool:
    """For an operator the case must carry its events (the first one names who opened it)."""
    return scope(staff, catalog).contains(case)


def can_act(staff: Staff, case: CaseView, action: str, catalog: Catalog) -> bool:
    """Whether the role may do `action` on this case (the state is the lifecycle's concern)."""
    return action in _ACTIONS[Role(staff.role)] and can_view(staff, case, catalog)


def actions_for(staff: Staff, case: CaseView, catalog: Catalog) -> list[str]:
    """The lifecycle actions a page may offer: allowed to the role and legal in the case's
    state; an extension is asked while none is pending and refused only while one is. An
    action the lifecycle does not know (yet) is not offered."""
    state = State(case.state)
    pending = case.pending_extension is not None
    return [a for a in STAFF_ACTIONS
            if a in TRANSITIONS and state in TRANSITIONS[a][0]
            and not (a == "ask_extension" and pending)
            and not (a == "refuse_extension" and not pending)
            and can_act(staff, case, a, catalog)]


def can_reveal(staff: Staff, case: CaseView, field: str, catalog: Catalog) -> bool:
    """Who works the case (agent, body, supervisor) and the operator who opened it."""
    return field in REVEALABLE and can_view(staff, case, catalog)


def can_open_intake(staff: Staff) -> bool:
    return Role(staff.role) in (Role.OPERATOR, Role.SUPERVISOR)


def can_manage_staff(staff: Staff) -> bool:
    return Role(staff.role) is Role.ADMIN


def can_see_dashboard(staff: Staff) -> bool:
    """The 三率 dashboard: supervisors and admins (all bodies), body staff (their own body)."""
    role = Role(staff.role)
    return role in (Role.SUPERVISOR, Role.ADMIN) or (role is Role.BODY and bool(staff.body_code))


def can_read_audit(staff: Staff) -> bool:
    return Role(staff.role) in (Role.SUPERVISOR, Role.ADMIN)
