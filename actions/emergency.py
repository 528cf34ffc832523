"""Emergencies: tell the number to call at once, then open a referred case for the record."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime, texts
from actions.conversation import idempotency_key, latest_text, message_key, sender
from actions.excerpt import conversation_excerpt
from bot.cases import OpenCase
from bot.nlu.places import find_area
from bot.privacy import mask_text
from bot.nlu.urgency import HOTLINE_LABELS, detect_urgency, hotline_label

log = logging.getLogger(__name__)

EMERGENCY = "security.emergency"
DEFAULT_HOTLINE = "110"
SAME_EMERGENCY = timedelta(minutes=30)


def refer_emergency(dispatcher: CollectingDispatcher, tracker: Tracker, text: str,
                    hotlines: tuple[str, ...] = (), turn_key: str | None = None) -> str | None:
    """Say the number to call, then record a referred case; the case number, or None when the
    case store failed (the number to call was said first either way)."""
    hotlines = tell_emergency(dispatcher, text, hotlines)
    channel, address = sender(tracker)
    referral = referral_text(hotlines)
    try:
        services = runtime.container()
        earlier = recent_record(services.cases, channel, address)
        if earlier is not None:
            # "火越来越大了" after "着火了": the same emergency, its words on the same record
            add_once(services.cases, earlier, text)
            dispatcher.utter_message(text=texts.emergency_recorded(earlier))
            return earlier
        view = services.cases.open_case(OpenCase(
            text=text or "（紧急求助）", category=EMERGENCY,
            area=find_area(services.catalog, text), channel=channel, address=address,
            refer=referral, actor="chat", inline_ack=True, excerpt=conversation_excerpt(tracker),
            idempotency_key=idempotency_key(tracker, turn_key or message_key(tracker))))
    except Exception:  # noqa: BLE001 - the number to call was already given; never fail here
        log.exception("recording an emergency from %s failed", channel)
        return None
    dispatcher.utter_message(text=texts.emergency_recorded(view.number))
    return view.number


def tell_emergency(dispatcher: CollectingDispatcher, text: str,
                   hotlines: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Say the numbers to call now (the rules' own when none are given); the numbers said."""
    if not hotlines:
        urgency = detect_urgency(text)
        hotlines = urgency.hotlines if urgency.is_emergency else (DEFAULT_HOTLINE,)
    labels = {number: HOTLINE_LABELS.get(number) or hotline_label(number) for number in hotlines}
    dispatcher.utter_message(text=texts.emergency(hotlines, labels))
    return hotlines


def referral_text(hotlines: tuple[str, ...]) -> str:
    return f"紧急情况，已告知群众立即拨打{'、'.join(hotlines)}"


def add_once(cases, number: str, text: str) -> None:
    """Note the resident's later words on the emergency's record, unless they are already
    there: a retried action call (or the retry of the message that opened the record) adds
    nothing twice."""
    note = f"群众补充（紧急）：{text}"[:2000]
    view = cases.get(number)
    seen = {mask_text(view.text)} | {e.internal_note for e in view.events} | \
        {e.public_text for e in view.events}
    if mask_text(note) in seen or mask_text(text) in seen:
        return
    cases.act(number, "note", actor="chat", text=note)


def recent_record(cases, channel: str, address: str, *, open_only: bool = False) -> str | None:
    """The number of this conversation's emergency or crisis record opened within
    `SAME_EMERGENCY`, if any: the messages of one emergency ("着火了" "火越来越大了" "119吗", "我割腕了"
    "血止不住") make one record. `open_only`: not a referred one (a crisis needs a record that
    someone still follows up)."""
    now = cases.clock()
    for view in cases.list_cases(channel=channel, address=address, limit=5):
        if view.category["code"] == EMERGENCY and not (open_only and view.state == "referred") and \
                now - datetime.fromisoformat(view.created_at.rstrip("Z")) <= SAME_EMERGENCY:
            return view.number
    return None


def handle_emergency(dispatcher: CollectingDispatcher, tracker: Tracker,
                     text: str) -> list[EventType]:
    """Shared by the report path and the fallback (an emergency the NLU did not catch)."""
    number = refer_emergency(dispatcher, tracker, text,
                             turn_key=tracker.get_slot("report_key") or message_key(tracker))
    if number is None:
        return [SlotSet("report_route", None)]
    return [SlotSet("case_number", number), SlotSet("report_route", None),
            SlotSet("report_text", None), SlotSet("category", None), SlotSet("kind", None),
            SlotSet("category_options", None), SlotSet("report_key", None)]


class ActionEmergency(Action):
    def name(self) -> str:
        return "action_emergency"

    def run(self, dispatcher, tracker, domain) -> list[EventType]:
        return handle_emergency(dispatcher, tracker,
                                tracker.get_slot("report_text") or latest_text(tracker))
