"""Hand-off to a human agent, and what to do when we do not understand."""
from __future__ import annotations

import logging
import re

from rasa_sdk import Action
from rasa_sdk.events import EventType, FollowupAction, UserUtteranceReverted

from actions import runtime, texts
from actions.conversation import clean, idempotency_key, latest_text, message_key, sender
from actions.emergency import handle_emergency
from actions.followup import give_up_outside_the_form, gives_up_reporting
from actions.intercept import EMERGENCY, assess
from actions.language import TRADITIONAL, language_of
from actions.status import my_cases
from actions.excerpt import conversation_excerpt
from bot.cases import OpenCase
from bot.cases.lifecycle import OPEN_STATES
from bot.nlu.places import find_area

log = logging.getLogger(__name__)

NOT_UNDERSTOOD = ("抱歉，我没太明白您的意思。您可以直接说遇到的问题，比如“小区门口路灯坏了”，"
                  "或者发诉求编号查询进度。")
STILL_NOT = "还是没能理解您的意思，真抱歉。要不要我帮您转给人工代理员？需要的话请点“转人工”或直接说“转人工”。"
TRADITIONAL_HINT = ("抱歉，繁体字我有时看不太准，没能明白您的意思。麻烦您用简体中文再说一遍；"
                    "也可以点“转人工”，代理员会看到您刚才说的话，再联系您。")
WANTS_TO_REPORT = re.compile(r"投诉|反映|举报|报告|求助|反应|告状")
OPEN = {s.value for s in OPEN_STATES}


HANDOFF_CATEGORY = "gov.service"      # 政务服务 (consult): the service center's agents
HANDOFF_NOTE = "群众在对话中要求转人工"
RECENT_TURNS = 6                      # what the agent reads first ...
MAX_QUOTE = 700                       # ... within the case store's 5,000 characters


def handoff(dispatcher, tracker) -> None:
    """Hand the conversation to a person, for real: the resident's open case gets a note, and
    with none open a consultation case is opened, so an agent has it in the queue and answers
    through this channel (a case reply reaches the resident by the outbox)."""
    try:
        number = _note_open_case(tracker) or _open_handoff_case(tracker)
    except Exception:  # noqa: BLE001 - the resident still gets an honest answer
        log.exception("hand-off could not be recorded")
        number = None
    # The doors open the hand-off (the console's queue) from this marker, with the case.
    dispatcher.utter_message(text=texts.handoff(number),
                             json_message={"handoff": True, "case": number})


def _note_open_case(tracker) -> str | None:
    for view in my_cases(tracker, limit=20):
        if view.state in OPEN:
            runtime.container().cases.act(view.number, "note", actor="resident", text=HANDOFF_NOTE)
            return view.number
    return None


def _open_handoff_case(tracker) -> str:
    said = [clean(e.get("text"))[:MAX_QUOTE] for e in tracker.events if e.get("event") == "user"]
    said = [text for text in said if text][-RECENT_TURNS:]
    text = "群众要求人工服务。" + ("对话中最近说的：\n" + "\n".join(said) if said else "")
    channel, address = sender(tracker)
    services = runtime.container()
    view = services.cases.open_case(OpenCase(
        text=text,
        category=HANDOFF_CATEGORY, summary="群众要求转人工服务", channel=channel, address=address,
        area=find_area(services.catalog, " ".join(said)), actor="chat", inline_ack=True,
        excerpt=conversation_excerpt(tracker),
        idempotency_key=idempotency_key(tracker, message_key(tracker))))
    return view.number


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
    """1st miss: rephrase hint; 2nd and later: offer a person (a button). Emergencies first.

    A misunderstood message is never taken as consent: however many misses in a row, the
    hand-off happens only when the resident asks for it (the button, or in words).

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
        if assess(text).level == EMERGENCY:
            return revert + handle_emergency(dispatcher, tracker, text) + listen
        misses = misunderstood_in_a_row(tracker)
        if gives_up_reporting(tracker):
            # "不想反映了" is not "我要反映": nothing is asked, a case just opened is named
            return revert + give_up_outside_the_form(dispatcher, tracker, domain) + listen
        if WANTS_TO_REPORT.search(text) and misses < 3:
            # "我要投诉" says only that there is something: ask what it is.
            dispatcher.utter_message(text=texts.ASK_DESCRIPTION)
        elif language_of(text) == TRADITIONAL:
            dispatcher.utter_message(text=TRADITIONAL_HINT, buttons=texts.HANDOFF_BUTTON)
        elif misses >= 2:
            dispatcher.utter_message(text=STILL_NOT, buttons=texts.HANDOFF_BUTTON)
        else:
            dispatcher.utter_message(text=NOT_UNDERSTOOD)
        return revert + listen
