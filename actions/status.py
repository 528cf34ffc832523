"""Status of existing cases: by number (only the resident's own) or all of "我的诉求"."""
from __future__ import annotations

import logging
from datetime import datetime

import re

from rasa_sdk import Action
from rasa_sdk.events import EventType, FollowupAction, SlotSet

from actions import runtime, texts
from actions.contact import find_phone, without_phone
from actions.conversation import case_number_in, informative, latest_text, sender
from bot.cases.messages import deadline_label

log = logging.getLogger(__name__)

MALFORMED = "这个编号的格式好像不对。诉求编号是“日期-序号”的样子，比如 20261122-0007，请核对后再发给我。"
NOT_YOURS = ("没有查到您在这里提交的、编号为 {number} 的诉求。为保护隐私，这里只能查询您本人在本渠道提交的诉求；"
             "如果是通过电话或窗口反映的，请联系代理员查询。")
NONE_YET = "您还没有在这里提交过诉求。有问题需要反映，直接告诉我就行。"
_ASKS_STATUS = re.compile(r"进度|进展|怎么样了|咋样了|如何了|办了没|办好了|处理了[吗没]|查询|查一下|查查|"
                          r"结果|回复了?[吗没]|有消息|消息了?[吗没]|诉求|编号|工单")


def complaint_with_phone(text: str) -> bool:
    """"我电话13912345678，楼下很吵": a phone number and a complaint, no question about a case.
    Read as a status question by the NLU, it would drop the complaint."""
    phone, _ = find_phone(text)
    rest = without_phone(text)
    return bool(phone) and informative(rest) and not _ASKS_STATUS.search(rest)


def owned_number(tracker, dispatcher, use_slot: bool = True) -> tuple[str | None, bool]:
    """(number, handled): a number the resident owns; handled=True when a reply was given."""
    number, malformed = case_number_in(tracker, use_slot)
    if malformed:
        dispatcher.utter_message(text=MALFORMED)
        return None, True
    if number is None:
        return None, False
    channel, address = sender(tracker)
    if not runtime.container().cases.owns(number, channel, address):
        dispatcher.utter_message(text=NOT_YOURS.format(number=number))
        return None, True
    return number, False


def my_cases(tracker, limit: int = 10):
    channel, address = sender(tracker)
    return runtime.container().cases.list_cases(channel=channel, address=address, limit=limit)


def describe(number: str) -> str:
    services = runtime.container()
    view = services.cases.get(number)
    public = [e for e in view.events if e.public_text]
    latest = public[-1].public_text if public else None
    due = None
    if view.due_at:
        due = deadline_label(services.calendar, datetime.fromisoformat(view.due_at.rstrip("Z")))
    return texts.status(view, latest, due)


class ActionCaseStatus(Action):
    def name(self) -> str:
        return "action_case_status"

    def run(self, dispatcher, tracker, domain) -> list[EventType]:
        if case_number_in(tracker, use_slot=False) == (None, False) \
                and complaint_with_phone(latest_text(tracker)):
            return take_as_report(dispatcher, tracker, domain)
        try:
            number, handled = owned_number(tracker, dispatcher)
            if handled:
                return [SlotSet("case_number", None)]
            if number is None:
                views = my_cases(tracker)
                if not views:
                    dispatcher.utter_message(text=NONE_YET)
                    return []
                if len(views) > 1:
                    dispatcher.utter_message(text=texts.case_lines(views))
                    return []
                number = views[0].number
            dispatcher.utter_message(text=describe(number))
        except Exception:  # noqa: BLE001
            log.exception("status lookup failed")
            dispatcher.utter_message(text=texts.service_unavailable())
            return []
        return [SlotSet("case_number", number)]


class ActionMyCases(Action):
    def name(self) -> str:
        return "action_my_cases"

    def run(self, dispatcher, tracker, domain) -> list[EventType]:
        try:
            views = my_cases(tracker)
        except Exception:  # noqa: BLE001
            log.exception("listing cases failed")
            dispatcher.utter_message(text=texts.service_unavailable())
            return []
        dispatcher.utter_message(text=texts.case_lines(views) if views else NONE_YET)
        return []


def take_as_report(dispatcher, tracker, domain) -> list[EventType]:
    """Capture the message as a new report and go on as the report rules would."""
    from actions.report import ActionCaptureReport      # report imports nothing from here

    events = ActionCaptureReport().run(dispatcher, tracker, domain)
    route = next((e["value"] for e in reversed(events)
                  if e.get("event") == "slot" and e.get("name") == "report_route"), None)
    follow = {"form": "report_form", "describe": "report_form", "emergency": "action_emergency"}
    return events + ([FollowupAction(follow[route])] if route in follow else [])
