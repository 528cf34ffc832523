"""Safety first, whatever the dialogue state: one check before any other handling.

Rasa runs `action_validate_slot_mappings` after every user message, before any policy predicts
anything — in a form, in a rating, pending a confirmation alike. `ActionFirstLook` is that
action: it reads the message and sets the `intercept` slot when the message must be answered
before anything else:

  * ``emergency`` — fire, gas, injury, violence now: the number to call, a referred case;
  * ``crisis``    — self-harm or suicide: the psychological-assistance hotline, a person on
                    offer and an urgent case with the health commission (a form being filled
                    stops: its words are quoted in that case); self-harm under way ("我割腕了")
                    is told the emergency number too, and still makes one record;
  * ``threat``    — violence threatened against people or offices: the 110 referral and a
                    case flagged for supervisors (never the anonymity offer);
  * ``language``  — English or Cantonese: an honest reply that we help in 普通话／简体中文;
  * ``consent``   — an emoji where a yes or no was asked: never taken as either.

`rasa_tools.policies.InterceptPolicy` then predicts `action_intercept` (`ActionIntercept`)
ahead of every rule, story and form; it answers, clears the slot, and the conversation goes on
where it was (after an emergency an active form asks its question again; a pending
confirmation stays pending).
"""
from __future__ import annotations

import logging
import re

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime, texts
from actions.conversation import (idempotency_key, latest_intent, latest_text, message_key,
                                  sender)
from actions.emergency import (EMERGENCY as EMERGENCY_CATEGORY, add_once, recent_record,
                               refer_emergency, referral_text, tell_emergency)
from actions.language import CANTONESE, ENGLISH, language_of, simplified
from actions.excerpt import conversation_excerpt
from bot.cases import OpenCase
from bot.channels.safety_notice import CRISIS_FUNCTION
from bot.nlu import urgency as urgency_rules
from bot.nlu.urgency import Safety
from bot.nlu.places import find_area

log = logging.getLogger(__name__)

SLOT = "intercept"
ACTION = "action_intercept"
EMERGENCY, CRISIS, THREAT, LANGUAGE, CONSENT = "emergency", "crisis", "threat", "language", "consent"
DANGER = (EMERGENCY, CRISIS, THREAT)
# A crisis is recorded as urgent as an emergency (its limits: signed in half an hour, the
# resident contacted within one, handled within two), but not referred: the body behind the
# psychological-assistance line (12356), the health commission, follows it up with the agent.
CRISIS_CATEGORY = EMERGENCY_CATEGORY
THREAT_CATEGORY = "security.public_order"
CRISIS_HOTLINE = "12356"                 # only when the safety data names no number
POLICE = "110"
YES_NO_INTENTS = ("affirm", "deny", "human_handoff")
_WORDS = re.compile(r"[\u3400-\u9fffA-Za-z0-9]")


def assess(text: str | None) -> Safety:
    """The safety rules' verdict on a message (emergency, crisis, threat, urgent, normal)."""
    return urgency_rules.assess(simplified(text))


def first_look(tracker: Tracker) -> str | None:
    """What, if anything, must answer the latest message before the dialogue does."""
    text = latest_text(tracker)
    if not text:                     # a button payload: the resident chose, nothing to read
        return None
    level = assess(text).level
    if level in DANGER:
        return level
    if language_of(text) in (ENGLISH, CANTONESE):
        return LANGUAGE
    if not _WORDS.search(text) and (tracker.get_slot("pending")
                                    or latest_intent(tracker) in YES_NO_INTENTS):
        return CONSENT               # 👍 🕐 ……: not a yes, not a no, not a request
    return None


def intercepted(tracker: Tracker) -> bool:
    """Whether `action_intercept` already answered the latest user message."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "action" and event.get("name") == ACTION:
            return True
    return False


class ActionFirstLook(Action):
    """Runs after every user message (Rasa's `action_validate_slot_mappings`)."""

    def name(self) -> str:
        return "action_validate_slot_mappings"

    def run(self, dispatcher, tracker, domain) -> list[EventType]:
        try:
            kind = first_look(tracker)
        except Exception:  # noqa: BLE001 - the dialogue's own checks still run
            log.exception("first look at a message failed")
            kind = None
        if kind is None and tracker.get_slot(SLOT) is None:
            return []
        return [SlotSet(SLOT, kind)]


class ActionIntercept(Action):
    """Answer what the first look flagged; the dialogue state is left as it was."""

    def name(self) -> str:
        return ACTION

    def run(self, dispatcher, tracker, domain) -> list[EventType]:
        kind, text = tracker.get_slot(SLOT), latest_text(tracker)
        events: list[EventType] = [SlotSet(SLOT, None)]
        if kind in DANGER:
            danger = assess(text)
            number = _answer_danger(dispatcher, tracker, text, kind, danger)
            if number and not tracker.get_slot("pending") and not tracker.active_loop.get("name"):
                events.append(SlotSet("case_number", number))   # a detail said next joins it
            if kind == EMERGENCY and not {"self_harm", "threat"} & set(danger.concerns):
                _still_pending(dispatcher, tracker)
            elif tracker.active_loop.get("name"):
                # A person in crisis (or making threats) is not asked for a place or a time
                # next: the form stops; what it had is quoted in the case just opened.
                events += [ActiveLoop(None), SlotSet("requested_slot", None)]
        elif kind == LANGUAGE:
            english = language_of(text) == ENGLISH
            dispatcher.utter_message(text=texts.ONLY_MANDARIN_EN if english else texts.ONLY_MANDARIN,
                                     buttons=texts.HANDOFF_BUTTON)
        elif kind == CONSENT:
            question, buttons = texts.consent_again(tracker.get_slot("pending"))
            dispatcher.utter_message(text=question, buttons=buttons)
        return events


def _answer_danger(dispatcher, tracker, text: str, kind: str, danger: Safety) -> str | None:
    """Every part that applies, the most urgent first: the number to call now; for thoughts
    of self-harm the crisis line and a person ("我割腕了" is an emergency and a crisis); for a
    threat the 110 referral and the flag (said only when no crisis reply was given)."""
    self_harm = kind == CRISIS or "self_harm" in danger.concerns
    threat = kind == THREAT or "threat" in danger.concerns
    numbers = []
    if kind == EMERGENCY and self_harm:
        # one message, one record: the crisis one, which someone follows up, says the referral
        told = tell_emergency(dispatcher, text, danger.hotlines)
        numbers.append(_crisis(dispatcher, tracker, text, danger, referral=referral_text(told)))
    elif kind == EMERGENCY:
        numbers.append(_emergency(dispatcher, tracker, text, danger))
    elif self_harm:
        numbers.append(_crisis(dispatcher, tracker, text, danger))
    if threat:
        numbers.append(_threat(dispatcher, tracker, text, danger, say=not self_harm))
    return next((n for n in numbers if n), None)


def _emergency(dispatcher, tracker, text: str, danger: Safety) -> str | None:
    return refer_emergency(dispatcher, tracker, text, danger.hotlines,
                           turn_key=f"safety-{message_key(tracker)}")


def _crisis(dispatcher, tracker, text: str, danger: Safety, *, referral: str | None = None) -> str | None:
    """The crisis line and a person, and one urgent record: the conversation's open emergency
    or crisis record of the last half hour when there is one (its words and the flag noted
    there), else a new one. `referral`: the emergency numbers said just before."""
    hotline = next((n for n in danger.hotlines if n not in ("110", "119", "120", "122")),
                   None) or _crisis_hotline()
    said = text
    earlier = tracker.get_slot("report_text") or tracker.get_slot("description")
    if earlier and earlier not in text:
        said += f"\n（此前正在反映：{earlier}）"
    note = texts.crisis_note(hotline, danger.reason) + (f"{referral}。" if referral else "")
    number = _joined_crisis(tracker, said, note)
    if number is None:
        number = _open_flagged(tracker, OpenCase(
            text=said, category=CRISIS_CATEGORY, summary=texts.CRISIS_SUMMARY),
            note=note, key="crisis", function=CRISIS_FUNCTION)
    dispatcher.utter_message(text=texts.crisis(hotline, number), buttons=texts.HANDOFF_BUTTON)
    return number


def _joined_crisis(tracker, said: str, note: str) -> str | None:
    """The open record of this conversation's emergency or crisis of the last half hour, with
    the words and the flag on it (each once); None when there is none (or the store failed)."""
    channel, address = sender(tracker)
    try:
        cases = runtime.container().cases
        number = recent_record(cases, channel, address, open_only=True)
        if number is not None:
            add_once(cases, number, said)
            if not any(e.internal_note == note for e in cases.get(number).events):
                cases.act(number, "note", actor="chat", text=note)
        return number
    except Exception:  # noqa: BLE001 - a new record is opened instead
        log.exception("joining a crisis to the record of %s failed", channel)
        return None


def _crisis_hotline() -> str:
    """The psychological-assistance hotline of the safety data (12356 unless the county says)."""
    try:
        return str(urgency_rules.load_rules().crisis_hotline or CRISIS_HOTLINE)
    except Exception:  # noqa: BLE001 - older rules without a data file
        return CRISIS_HOTLINE


def _threat(dispatcher, tracker, text: str, danger: Safety, *, say: bool = True) -> str | None:
    number = _open_flagged(tracker, OpenCase(text=text, category=THREAT_CATEGORY),
                           note=texts.threat_note(danger.reason), key="threat")
    if say:
        dispatcher.utter_message(text=texts.threat(number))
    return number


def _open_flagged(tracker, request: OpenCase, *, note: str, key: str,
                  function: str | None = None) -> str | None:
    """Open the case and put the flag for supervisors on it as an internal note; `function`:
    the body serving it takes the case instead of the category's."""
    channel, address = sender(tracker)
    try:
        services = runtime.container()
        request.area = find_area(services.catalog, request.text)
        body = services.catalog.body_for(function, request.area) if function else None
        request.assign_to = body.code if body else None
        request.channel, request.address, request.actor = channel, address, "chat"
        request.inline_ack, request.excerpt = True, conversation_excerpt(tracker)
        request.idempotency_key = idempotency_key(tracker, f"{key}-{message_key(tracker)}")
        view = services.cases.open_case(request)
        if not any(e.action == "note" for e in view.events):      # a retried turn: noted once
            services.cases.act(view.number, "note", actor="chat", text=note)
    except Exception:  # noqa: BLE001 - the hotline was (or will be) said anyway
        log.exception("recording a %s message from %s failed", key, channel)
        return None
    return view.number


def _still_pending(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    line = texts.STILL_PENDING.get(tracker.get_slot("pending") or "")
    if line:
        dispatcher.utter_message(text=line)
