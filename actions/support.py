"""Hand-off to a human agent, and what to do when we do not understand."""
from __future__ import annotations

import logging
import re

from rasa_sdk import Action
from rasa_sdk.events import EventType, FollowupAction, UserUtteranceReverted

from actions import runtime, texts
from actions.conversation import latest_text
from actions.emergency import handle_emergency
from actions.status import my_cases
from bot.cases.lifecycle import OPEN_STATES
from bot.nlu.urgency import detect_urgency

log = logging.getLogger(__name__)

HANDOFF = ("好的，已为您转接人工代理员。工作时间（工作日 8:30—17:30）代理员会尽快在这里回复您；"
           "非工作时间请留言，上班后第一时间联系您。紧急情况请直接拨打110、119或120。")
NOT_UNDERSTOOD = ("抱歉，我没太明白您的意思。您可以直接说遇到的问题，比如“小区门口路灯坏了”，"
                  "或者发诉求编号查询进度。")
STILL_NOT = "还是没能理解您的意思，真抱歉。要不要我帮您转给人工代理员？"
WANTS_TO_REPORT = re.compile(r"投诉|反映|举报|报告|求助|反应|告状")
OPEN = {s.value for s in OPEN_STATES}


def handoff(dispatcher, tracker) -> None:
    dispatcher.utter_message(text=HANDOFF, json_message={"handoff": True})
    try:
        for view in my_cases(tracker, limit=20):
            if view.state in OPEN:
                runtime.container().cases.act(view.number, "note", actor="resident",
                                              text="群众在对话中要求转人工")
                break
    except Exception:  # noqa: BLE001 - the hand-off message was given; the note is a bonus
        log.exception("hand-off note failed")


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    def run(self, dispatcher, tracker, domain) -> list[EventType]:
        handoff(dispatcher, tracker)
        return []


def misunderstood_in_a_row(tracker) -> int:
    """How many of the latest user turns in a row the NLU could not understand."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent != "nlu_fallback":
            break
        count += 1
    return count


class ActionFallback(Action):
    """1st miss: rephrase hint; 2nd: offer a human; 3rd: hand off. Emergencies always first.

    Right after a message (NLU fallback) it reverts the misunderstood message, like Rasa's
    default fallback, so the conversation goes on from where it was. It is also the dialogue's
    core fallback, predicted after some other action: then nothing is reverted (that would undo
    the action). Either way the assistant listens next.
    """

    def name(self) -> str:
        return "action_fallback"

    def run(self, dispatcher, tracker, domain) -> list[EventType]:
        text = latest_text(tracker)
        revert = [UserUtteranceReverted()] if tracker.latest_action_name == "action_listen" else []
        listen = [FollowupAction("action_listen")]
        if detect_urgency(text).is_emergency:
            return revert + handle_emergency(dispatcher, tracker, text) + listen
        misses = misunderstood_in_a_row(tracker)
        if WANTS_TO_REPORT.search(text) and misses < 3:
            # "我要投诉" says only that there is something: ask what it is.
            dispatcher.utter_message(text=texts.ASK_DESCRIPTION)
        elif misses >= 3:
            handoff(dispatcher, tracker)
        elif misses == 2:
            dispatcher.utter_message(text=STILL_NOT, buttons=[
                {"title": "转人工", "payload": "/human_handoff"}])
        else:
            dispatcher.utter_message(text=NOT_UNDERSTOOD)
        return revert + listen
