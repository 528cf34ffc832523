"""The watchdog: escalates overdue cases one tier up (点 → 站 → 中心) and tells the resident.

A case is overdue when it was not signed by its sign deadline, or not resolved by its due
date. After an escalation the new tier has a fresh sign deadline, so a case climbs one tier
per missed deadline, never two in one run.
"""
from __future__ import annotations

import logging

from bot.cases.errors import CaseError
from bot.cases.queries import CaseQueries
from bot.cases.service import CaseService

log = logging.getLogger(__name__)


def overdue_numbers(service: CaseService) -> list[str]:
    return CaseQueries(service).escalation_due()


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
