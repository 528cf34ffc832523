"""The case service and everything it needs; see `service.CaseService`."""
from bot.cases.errors import CaseError, CaseNotFound, IllegalTransition, InvalidInput
from bot.cases.lifecycle import ACTIONS, State
from bot.cases.service import CaseService, OpenCase, Rating

__all__ = ["ACTIONS", "CaseError", "CaseNotFound", "CaseService", "IllegalTransition",
           "InvalidInput", "OpenCase", "Rating", "State"]
