"""The doors' side of a hand-off to a person (web chat relay and Telegram adapter alike).

- `HandoffDoor.register`: the dialogue's reply carries `custom = {"handoff": true, "case": N}`
  (actions/support.py) once the hand-off case is recorded; the door then opens the hand-off,
  so the conversation appears in the agent's queue.
- `HandoffDoor.intercept`: while a hand-off is live the resident's words do not go to the
  dialogue; they are stored (masked) for the staff member. The safety check still runs on
  every message: an emergency is answered by the app itself with the number to call, and the
  staff member sees a safety note. The resident is told once that a person will answer, and
  that "结束人工" takes them back to the assistant (the staff member sees that they left).
- `ResidentDelivery`: what a staff member writes reaches the resident live: the web chat
  inbox + push (the open page shows it at once), or Telegram's sendMessage.

When the database cannot say whether a conversation is handed off, the dialogue answers
(a resident is never left without a reply).
"""
from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import SQLAlchemyError

from bot.cases import CaseService, OpenCase
from bot.channels.safety_notice import call_now
from bot.nlu.places import find_area
from bot.staff.handoff import (END_REQUEST, RETURNED, STAFF_LABEL, WAIT_NOTICE, Handoff,
                               HandoffService)
from bot.web.errors import is_database_unavailable
from bot.web.hub import Hub
from bot.web.store import ChatStore

log = logging.getLogger(__name__)

EMERGENCY = "security.emergency"      # the category of a referred emergency (actions/emergency.py)


def safety_answer(text: str) -> tuple[str, tuple[str, ...], str] | None:
    """(what the app says at once, the numbers in it, the level) for an emergency or a crisis,
    else None."""
    found = call_now(text, do_not_wait_for="代理员回复")
    if found is None:
        return None
    lines, safety = found
    lines.append("代理员也会看到您的消息。")
    return "\n".join(lines), tuple(safety.hotlines), safety.level


def handoff_case(messages: list[dict]) -> str | None:
    """The case number of a recorded hand-off in the dialogue's reply, if there is one."""
    for message in messages:
        custom = message.get("custom") if isinstance(message, dict) else None
        if isinstance(custom, dict) and custom.get("handoff") is True and custom.get("case"):
            return str(custom["case"])[:32]
    return None


class HandoffDoor:
    def __init__(self, service: HandoffService, cases: CaseService | None = None) -> None:
        """`cases` records an emergency told during a hand-off as a referred case, as the
        dialogue does outside one."""
        self.service = service
        self.cases = cases

    @classmethod
    def for_settings(cls, settings, engine) -> "HandoffDoor":
        """For a process without the app's container (the Telegram adapter)."""
        from bot.container import Container

        container = Container(settings)
        container.engine = engine           # share the caller's engine (cached_property)
        return cls(HandoffService.for_container(container), container.cases)

    async def register(self, channel: str, address: str, messages: list[dict]) -> Handoff | None:
        """Open the hand-off a reply announces (idempotent); never fails the reply."""
        number = handoff_case(messages)
        if number is None:
            return None
        try:
            handoff, created = await asyncio.to_thread(self.service.open, channel, address, number)
        except Exception:  # noqa: BLE001 - the case is recorded; the agent still has it
            log.exception("%s: hand-off for %s could not be opened", channel, number)
            return None
        if created:
            log.info("%s: conversation handed off (hand-off %s, case %s, agent %s)", channel,
                     handoff.id, number, handoff.agent_code)
        return handoff

    async def intercept(self, channel: str, address: str, text: str) -> list[str] | None:
        """None when the dialogue should answer; else what the app says itself (maybe nothing)."""
        try:
            if END_REQUEST.match(text):
                ended = await asyncio.to_thread(self.service.resident_ends, channel, address)
                return [RETURNED] if ended is not None else None
            held = await asyncio.to_thread(self.service.resident_message, channel, address, text)
        except SQLAlchemyError as exc:
            if not is_database_unavailable(exc):
                raise
            log.warning("%s: hand-off check failed, the dialogue answers: %s", channel,
                        str(exc).splitlines()[0][:160])
            return None
        if held is None:
            return None
        handoff, said, first = held
        replies: list[str] = []
        answer = safety_answer(text)
        if answer is not None:
            words, numbers, level = answer
            replies.append(words)
            number = None
            if level == "emergency":
                number = await asyncio.to_thread(self._refer, channel, address, text, numbers,
                                                 f"handoff:{handoff.id}:{said['id']}")
            recorded = f"紧急求助已登记为诉求 {number}。" if number else ""
            await asyncio.to_thread(self.service.alert, handoff.id,
                                    f"安全提示：群众的话像是紧急情况，已告知群众拨打 {'、'.join(numbers)}。"
                                    + recorded)
            log.warning("%s: emergency words in hand-off %s; numbers given: %s", channel,
                        handoff.id, ",".join(numbers))
        if first:
            replies.append(WAIT_NOTICE)
        return replies

    def _refer(self, channel: str, address: str, text: str, numbers: tuple[str, ...],
               key: str) -> str | None:
        """The referred case of an emergency (once per message); None when it could not be
        recorded (the resident was told the number to call either way)."""
        if self.cases is None:
            return None
        try:
            view = self.cases.open_case(OpenCase(
                text=text, category=EMERGENCY, area=find_area(self.service.catalog, text),
                channel=channel, address=address, actor="chat", idempotency_key=key,
                refer=f"紧急情况，已告知群众立即拨打{'、'.join(numbers)}"))
        except Exception:  # noqa: BLE001 - never fail the resident's turn over the record
            log.exception("%s: recording an emergency told during a hand-off failed", channel)
            return None
        return view.number


class DeliveryFailed(RuntimeError):
    """The resident's door did not take the message."""


class ResidentDelivery:
    """Staff → resident, live, on the resident's own door."""

    def __init__(self, store: ChatStore, hub: Hub, telegram=None) -> None:
        self.store = store
        self.hub = hub
        self.telegram = telegram          # a TelegramSender, or None when there is no bot token

    def send(self, handoff: Handoff, text: str, *, from_staff: bool = True) -> None:
        """Synchronous (run it in a thread). Raises DeliveryFailed."""
        if handoff.channel == "webchat":
            self._webchat(handoff, text, from_staff)
        elif handoff.channel == "telegram":
            if self.telegram is None:
                raise DeliveryFailed("telegram: no bot token in this process")
            try:
                self.telegram.send(handoff.address, f"【{STAFF_LABEL}】{text}" if from_staff else text,
                                   case_number=handoff.case_number or "")
            except Exception as exc:  # noqa: BLE001 - the sender's own error type, or network
                raise DeliveryFailed(f"telegram: {exc}") from exc
        else:
            raise DeliveryFailed(f"no live door for channel {handoff.channel}")

    def _webchat(self, handoff: Handoff, text: str, from_staff: bool) -> None:
        message = {"text": text, "buttons": [], "image": None,
                   "custom": {"from": STAFF_LABEL} if from_staff else None}
        item = self.store.add(handoff.address, "bot", {"messages": [message]},
                              case_number=handoff.case_number)
        try:
            self.hub.publish(handoff.address, item)
        except Exception as exc:  # noqa: BLE001 - stored: the page gets it on return
            log.warning("live push of hand-off %s failed (kept in the inbox): %s", handoff.id, exc)
