"""Helpers to drive a case into any state of the lifecycle."""
from __future__ import annotations

from bot.cases import OpenCase, Rating, State
from bot.cases.service import CaseService

TEXT = "文化路28号楼下烧烤店每天营业到凌晨两点，噪音太大睡不着"


def open_case(service: CaseService, **overrides) -> str:
    fields = {"text": TEXT, "category": "env.noise", "area": "S1P1G1",
              "contact": "13812345678", "channel": "telegram", "address": "10001", **overrides}
    return service.open_case(OpenCase(**fields)).number


# The shortest path from a freshly assigned case to each state.
PATHS: dict[State, list[tuple[str, dict]]] = {
    State.ASSIGNED: [],
    State.ACCEPTED: [("accept", {})],
    State.IN_PROGRESS: [("accept", {}), ("start", {})],
    State.RESOLVED: [("accept", {}), ("start", {}), ("resolve", {"text": "已督促商户整改"})],
    State.CLOSED: [("accept", {}), ("start", {}), ("resolve", {"text": "已整改"}), ("close", {})],
    State.WITHDRAWN: [("withdraw", {"text": "问题已自行解决"})],
}


def case_in_state(service: CaseService, state: State) -> str:
    if state == State.RECEIVED:
        return open_case(service, auto_assign=False)
    if state == State.REFERRED:
        return open_case(service, refer="请立即拨打119")
    if state == State.MERGED:
        target = open_case(service)
        number = open_case(service)
        service.act(number, "merge", to=target)
        return number
    number = open_case(service)
    for action, kwargs in PATHS[state]:
        service.act(number, action, **kwargs)
    return number


def valid_args(service: CaseService, action: str) -> dict:
    """Arguments that make `action` acceptable apart from the state it starts from."""
    return {
        "reply": {"text": "已联系商户"}, "note": {"text": "商户电话已核实"},
        "add_info": {"text": "昨晚又吵到三点", "actor": "resident"},
        "transfer": {"to": "B-CGJ", "text": "属城管职责"},
        "extend": {"to": "10", "text": "需协调多个部门"},
        "ask_extension": {"to": "10", "text": "需协调多个部门"},
        "refuse_extension": {"text": "期限内可以办完"},
        "escalate": {"text": "群众多次反映"}, "resolve": {"text": "已整改完毕"},
        "rate": {"rating": Rating(solved=True, satisfaction="满意")},
        "refer": {"text": "属于诉讼事项，请向法院起诉"},
        "merge": {"to": open_case(service)},
        "join": {"to": open_case(service, joint=True, channel=None, address=None, contact=None)},
        "withdraw": {"text": "不需要了"},
    }.get(action, {})
