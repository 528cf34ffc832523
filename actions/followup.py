"""Following a case the resident already has: add information, withdraw, rate."""
from __future__ import annotations

import logging
import re

from rasa_sdk import Action
from rasa_sdk.events import EventType, SlotSet

from actions import runtime, texts
from actions.conversation import clean, entity, latest_intent, latest_text
from actions.report import GIVE_UP, ActionCancelReport
from actions.status import complaint_with_phone, my_cases, owned_number, take_as_report
from bot.cases import CaseError, Rating
from bot.cases.lifecycle import OPEN_STATES
from bot.cases.messages import withdrawn

log = logging.getLogger(__name__)

OPEN = {state.value for state in OPEN_STATES}


def pick_case(tracker, dispatcher, states: set[str]) -> tuple[str | None, bool]:
    """The case meant: a number in the message (if the resident owns it), else the case of
    this conversation or their latest case, if in one of `states`. Returns (number, handled)."""
    number, handled = owned_number(tracker, dispatcher, use_slot=False)
    if handled or number:
        return number, handled
    views = my_cases(tracker, limit=50)
    current = tracker.get_slot("case_number")
    for view in sorted(views, key=lambda v: v.number != current):
        if view.state in states:
            return view.number, False
    return None, False


class ActionAddInfo(Action):
    def name(self) -> str:
        return "action_add_info"

    def run(self, dispatcher, tracker, domain) -> list[EventType]:
        text = latest_text(tracker)
        try:
            number, handled = pick_case(tracker, dispatcher, OPEN)
            if handled:
                return []
            if number is None:
                dispatcher.utter_message(text="没有找到您正在办理中的诉求。如果是新情况，直接告诉我，我帮您登记。")
                return []
            if not text:
                dispatcher.utter_message(text=f"请直接告诉我要给编号 {number} 的诉求补充什么内容。")
                return [SlotSet("case_number", number)]
            runtime.container().cases.act(number, "add_info", actor="resident", text=text)
        except CaseError as exc:
            dispatcher.utter_message(text=f"补充没有成功：{exc.zh}。如有新情况，可以直接告诉我，我帮您重新登记。")
            return []
        except Exception:  # noqa: BLE001
            log.exception("add_info failed")
            dispatcher.utter_message(text=texts.service_unavailable())
            return []
        dispatcher.utter_message(text=texts.detail_added(number, referred=False))
        return [SlotSet("case_number", number)]


class ActionInformNoContext(Action):
    """A bare detail ("在文化路12号") that answers no question. Right after a case was opened
    or an emergency recorded it belongs to that case; anywhere else we ask what it is about."""

    ATTACH_AFTER = {"action_open_case", "action_emergency", "action_intercept"}

    def name(self) -> str:
        return "action_inform_no_context"

    def run(self, dispatcher, tracker, domain) -> list[EventType]:
        number, text = tracker.get_slot("case_number"), latest_text(tracker)
        if not (number and text and self._follows_its_case(tracker, number)):
            if complaint_with_phone(text):      # "我电话139…，楼下很吵": a report, not a detail
                return take_as_report(dispatcher, tracker, domain)
            dispatcher.utter_message(text=texts.INFORM_NO_CONTEXT)
            return []
        try:
            cases = runtime.container().cases
            referred = cases.get(number).state not in OPEN
            if referred:    # an emergency is referred at once: the detail goes on its record
                cases.act(number, "note", actor="resident", text=f"群众补充：{text}")
            else:
                cases.act(number, "add_info", actor="resident", text=text)
        except Exception:  # noqa: BLE001 - the resident hears it did not work, not silence
            log.exception("attaching a detail to %s failed", number)
            dispatcher.utter_message(text=texts.service_unavailable())
            return []
        dispatcher.utter_message(text=texts.detail_added(number, referred=referred))
        return []


    def _follows_its_case(self, tracker, number: str) -> bool:
        """Whether the action before this turn opened or recorded a case. An intercept answers
        many things (a language, an emoji ...): only one that recorded a case counts."""
        previous = tracker.get_last_event_for("action", exclude=["action_listen"]) or {}
        if previous.get("name") not in self.ATTACH_AFTER:
            return False
        if previous.get("name") != "action_intercept":
            return True
        later = tracker.events[next(i for i, e in enumerate(tracker.events) if e is previous):]
        return any(e.get("event") == "slot" and e.get("name") == "case_number"
                   and e.get("value") == number for e in later)


# "撤回我的诉求", "把单子作废": a case is meant; "算了不报了", "不想反映了": a report is.
_A_CASE = re.compile(r"撤|删|作废|单子|工单|诉求|编号")


def gives_up_reporting(tracker) -> bool:
    text = latest_text(tracker)
    return bool(GIVE_UP.search(text)) and not _A_CASE.search(text) \
        and not entity(tracker, "case_number")


def filed_here(tracker) -> str | None:
    """The number of the case last opened in this conversation, if any."""
    number, after_open = None, False
    for event in tracker.events:
        if event.get("event") == "action":
            after_open = event.get("name") == "action_open_case"
        elif after_open and event.get("event") == "slot" and event.get("name") == "case_number":
            number = event.get("value") or number
    return number


def give_up_outside_the_form(dispatcher, tracker, domain) -> list[EventType]:
    """"算了不报了" with no form asking: a report still being clarified is dropped; else nothing is
    being taken, and their open case (the one just opened here first) is named with how to
    withdraw it: never withdrawn unasked."""
    if tracker.get_slot("report_text"):
        return ActionCancelReport().run(dispatcher, tracker, domain)
    view = None
    try:
        number, _ = pick_case(tracker, dispatcher, OPEN)
        view = runtime.container().cases.get(number) if number else None
    except Exception:  # noqa: BLE001 - the acknowledgement needs no case
        log.exception("looking up the resident's open case failed")
    if view is None:
        dispatcher.utter_message(text=texts.NOTHING_TO_CANCEL)
    else:
        dispatcher.utter_message(text=texts.case_kept(view.number, view.summary,
                                                      just_filed=view.number == filed_here(tracker)))
    return [SlotSet("pending", None)]


class ActionPrepareWithdraw(Action):
    """Find the case to withdraw and ask for confirmation."""

    def name(self) -> str:
        return "action_prepare_withdraw"

    def run(self, dispatcher, tracker, domain) -> list[EventType]:
        if gives_up_reporting(tracker):
            return give_up_outside_the_form(dispatcher, tracker, domain)
        try:
            number, handled = pick_case(tracker, dispatcher, OPEN)
            if handled:
                return [SlotSet("pending", None)]
            if number is None:
                dispatcher.utter_message(text="没有找到您可以撤回的诉求（正在办理中的才能撤回）。")
                return [SlotSet("pending", None)]
            view = runtime.container().cases.get(number)
        except Exception:  # noqa: BLE001
            log.exception("withdraw lookup failed")
            dispatcher.utter_message(text=texts.service_unavailable())
            return [SlotSet("pending", None)]
        dispatcher.utter_message(
            text=f"确定要撤回编号 {number}（{texts.short(view.summary)}）的诉求吗？撤回后就不再办理了。",
            buttons=[{"title": "确定撤回", "payload": "/affirm"},
                     {"title": "不撤回", "payload": "/deny"}])
        return [SlotSet("case_number", number), SlotSet("pending", "confirm_withdraw")]


class ActionWithdrawCase(Action):
    def name(self) -> str:
        return "action_withdraw_case"

    def run(self, dispatcher, tracker, domain) -> list[EventType]:
        number = tracker.get_slot("case_number")
        try:
            runtime.container().cases.act(number, "withdraw", actor="resident",
                                          text="群众在对话中撤回")
        except CaseError as exc:
            dispatcher.utter_message(text=f"撤回没有成功：{exc.zh}。")
            return [SlotSet("pending", None)]
        except Exception:  # noqa: BLE001
            log.exception("withdraw failed")
            dispatcher.utter_message(text=texts.service_unavailable())
            return [SlotSet("pending", None)]
        dispatcher.utter_message(text=withdrawn(number))
        return [SlotSet("pending", None)]


class ActionCancelPending(Action):
    """A "no" to a pending question."""

    def name(self) -> str:
        return "action_cancel_pending"

    def run(self, dispatcher, tracker, domain) -> list[EventType]:
        if tracker.get_slot("pending") == "confirm_withdraw":
            dispatcher.utter_message(text=texts.WITHDRAW_KEPT)
        else:
            dispatcher.utter_message(text=texts.ANYTHING_ELSE)
        return [SlotSet("pending", None)]


BARE_RATINGS = {b["title"] for b in texts.ASK_SOLVED_BUTTONS + texts.ASK_SATISFACTION_BUTTONS}


def rating_words(tracker) -> str | None:
    """What the resident said while rating ("井盖是补了但是歪的"), kept on the case for whoever
    handles it next; button presses and bare 满意 / 没解决 say nothing more than the rating."""
    said = []
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""
        if not intent.startswith("rate_"):
            break
        text = clean(event.get("text"))
        if text and not text.startswith("/") and text not in BARE_RATINGS:
            said.append(text[:500])
    return "群众评价时说：" + "；".join(reversed(said)) if said else None


# With nothing to rate, a rating whose runner-up reading is a report at least this likely is
# taken as the report: a fault said in few words ("网络断了") reads much like "网络恢复了".
REPORT_RUNNER_UP = 0.15


def reads_as_report(tracker) -> bool:
    said = clean(latest_text(tracker)) or ""
    if not said or said.startswith("/") or said in BARE_RATINGS:
        return False
    ranking = (tracker.latest_message or {}).get("intent_ranking") or []
    return any(i.get("name") == "report" and (i.get("confidence") or 0) >= REPORT_RUNNER_UP
               for i in ranking)


class ActionRate(Action):
    """回访评价: 解决? 满意? Asked with buttons; 未解决 or 不满意 reopens the case."""

    def name(self) -> str:
        return "action_rate"

    def run(self, dispatcher, tracker, domain) -> list[EventType]:
        intent = latest_intent(tracker)
        solved = tracker.get_slot("rating_solved")
        satisfaction = tracker.get_slot("satisfaction")
        if intent == "rate_solved":
            solved = True
        elif intent == "rate_unsolved":
            solved = False
        elif intent == "rate_satisfied" and satisfaction not in ("满意", "基本满意"):
            satisfaction = "满意"
        elif intent == "rate_unsatisfied":
            satisfaction = "不满意"
        events: list[EventType] = [SlotSet("rating_solved", solved),
                                   SlotSet("satisfaction", satisfaction)]
        try:
            number, handled = pick_case(tracker, dispatcher, {"resolved"})
        except Exception:  # noqa: BLE001
            log.exception("rating lookup failed")
            dispatcher.utter_message(text=texts.service_unavailable())
            return events
        if handled:
            return events
        if number is None:
            if reads_as_report(tracker):     # "网络断了" read as a rating, nothing to rate
                return [SlotSet("rating_solved", None), SlotSet("satisfaction", None),
                        *take_as_report(dispatcher, tracker, domain)]
            dispatcher.utter_message(text="没有找到等待您评价的诉求。诉求办结后，我会请您评价。")
            return [SlotSet("rating_solved", None), SlotSet("satisfaction", None)]
        events.append(SlotSet("case_number", number))
        if solved is None:
            dispatcher.utter_message(text=texts.ASK_SOLVED, buttons=texts.ASK_SOLVED_BUTTONS)
            return events
        if satisfaction is None:
            dispatcher.utter_message(text=texts.ASK_SATISFACTION,
                                     buttons=texts.ASK_SATISFACTION_BUTTONS)
            return events
        try:
            runtime.container().cases.act(number, "rate", actor="resident", text=rating_words(tracker),
                                          rating=Rating(solved=solved, satisfaction=satisfaction))
        except CaseError as exc:
            dispatcher.utter_message(text=f"评价没有成功：{exc.zh}。")
            return events[-1:] + [SlotSet("rating_solved", None), SlotSet("satisfaction", None)]
        except Exception:  # noqa: BLE001
            log.exception("rating failed")
            dispatcher.utter_message(text=texts.service_unavailable())
            return events
        if solved and satisfaction != "不满意":
            dispatcher.utter_message(text=f"感谢您的评价！编号 {number} 的诉求已记录您的意见。")
        else:
            dispatcher.utter_message(text=f"很抱歉没能让您满意。编号 {number} 的诉求已重新交办，"
                                          "我们会继续跟进直到解决，有进展马上告诉您。")
        return [SlotSet("case_number", number), SlotSet("rating_solved", None),
                SlotSet("satisfaction", None)]
