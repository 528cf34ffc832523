"""The watchdog: escalates overdue cases one tier up (点 → 站 → 中心) and tells the resident.

A case is overdue when it was not signed by its sign deadline, or not resolved by its due
date. After an escalation the new tier has a fresh sign deadline, so a case climbs one tier
per missed deadline, never two in one run.
"""
from __future__ import annotations

import logging

from sqlalchemy import and_, exists, or_, select

from bot.cases.errors import CaseError
from bot.cases.lifecycle import State
from bot.cases.models import CaseRow, EventRow
from bot.cases.service import CaseService

log = logging.getLogger(__name__)


def overdue_numbers(service: CaseService) -> list[str]:
    now = service.clock()
    escalated_since_due = exists().where(
        EventRow.case_id == CaseRow.id, EventRow.action == "escalate", EventRow.at >= CaseRow.due_at)
    stmt = (select(CaseRow.number)
            .where(CaseRow.tier != "center")
            .where(or_(
                and_(CaseRow.state == State.ASSIGNED, CaseRow.sign_due_at < now),
                and_(CaseRow.state.in_([State.ACCEPTED, State.IN_PROGRESS]),
                     CaseRow.due_at < now, ~escalated_since_due)))
            .order_by(CaseRow.id))
    with service._sessions() as session:
        return list(session.scalars(stmt))


def run_once(service: CaseService) -> list[str]:
    """Escalate every overdue case once; return their numbers."""
    done = []
    for number in overdue_numbers(service):
        try:
            service.act(number, "escalate", actor="watchdog", text="超期未办理，自动督办")
            done.append(number)
        except CaseError as exc:  # changed under our feet: skip, next run sees it again
            log.warning("watchdog skipped %s: %s", number, exc)
    return done
