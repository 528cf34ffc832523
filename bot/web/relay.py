"""Resident messages to Rasa, and what happens when Rasa is down or slow.

Every message is written to `webchat_pending` before it goes to Rasa, its retry a lease
ahead (the gateway's timeout and `IN_FLIGHT_MARGIN`), and marked done once Rasa answered: if
the process relaying it dies (SIGKILL, a crash), the retry loop of any replica takes it up when
the lease runs out. A message Rasa does not answer in time stays there, and the resident gets a
polite reply at once. A retry loop sends kept messages in order, one session at a time; the
bot's answer reaches the page as an inbox item (live via SSE, or on return).

Before re-sending, the loop asks Rasa's tracker whether the message already arrived (a slow
answer that timed out on our side): if so, the bot's replies are taken from the tracker and
the message is not processed twice. Every message carries a `message_id` in its metadata,
which the actions also use as the idempotency key of the case they open.

When the case database is unavailable too (locked, read-only, gone), a message is kept in
this process (`spill`, bounded) and moved into `webchat_pending` by the retry loop once the
database answers again; a message that Rasa did take is in Rasa's tracker store anyway.

While Rasa is still starting (`startup_wait` seconds after the app starts, until Rasa first
answers), a message waits for it: a few seconds within the request, then kept and answered
as soon as Rasa is ready, with a "starting" note instead of "busy"; no retry is spent on it.
"""
from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections import deque
from dataclasses import asdict
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from bot.channels.handoff import HandoffDoor
from bot.channels.rasa_gateway import BotMessage, GatewayDown, RasaGateway, tracker_replies
from bot.channels.safety_notice import call_now
from bot.channels.typed import resident_words
from bot.logs import mask_pii
from bot.web.errors import is_database_unavailable, unavailable
from bot.web.hub import Hub
from bot.web.payloads import SLASH_REPLY, OfferedButtons
from bot.web.store import ChatStore

log = logging.getLogger(__name__)

QUEUED_REPLY = ("抱歉，系统这会儿有点忙，您的话我们已经记下了。恢复后会马上接着为您处理，"
                "回复会显示在这里，不用重复发送。")
QUEUED_BEHIND_REPLY = "您的话我们已经记下了，会接着前面的消息一起处理，请稍候。"
NOT_KEPT_REPLY = ("抱歉，系统这会儿出了故障，刚才这条消息没能保存下来。请稍等一两分钟再发送一次，"
                  "之前已经登记的诉求不受影响。")
URGENT_SLOW_REPLY = "您的话我们已经收到，正在处理，回复会显示在这里。"
URGENT_WAIT = 3.0          # seconds an emergency waits for the dialogue before the app says the number
STARTING_REPLY = "您好，服务正在启动，马上就好。您的话已经收到，稍后会在这里回复您，不用重复发送。"
STARTUP_HOLD = 8.0         # seconds a request waits for a starting Rasa before it is kept
GIVE_UP_AFTER = timedelta(hours=24)
SPILL_LIMIT = 2000         # messages kept in memory while the database cannot take them
IN_FLIGHT_MARGIN = 10.0    # seconds past the gateway's timeout before a relayed message is retried

_MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z][a-zA-Z0-9-]*(\s[^<>]*)?/?\s*>|<\s*script|javascript\s*:",
                     re.IGNORECASE)


def looks_like_markup(text: str) -> bool:
    """An HTML tag or a script URL; a lone '<' as in '温度<0度' is fine."""
    return bool(_MARKUP.search(text))


def _kept_reply(text: str, reply: str, urgent=None) -> list[dict]:
    """The reply to a message kept for later; an emergency or a crisis hears the number to
    call first, from the app itself (the dialogue, which would say it, cannot answer now).
    `urgent`: `call_now`'s answer when the caller has it already."""
    urgent = urgent or call_now(text, do_not_wait_for="我们回复")
    first = [asdict(BotMessage(text="\n".join(urgent[0])))] if urgent else []
    return first + [asdict(BotMessage(text=reply))]


def sender_id(session: str) -> str:
    return f"webchat:{session}"


def excerpt(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return mask_pii(text if len(text) <= limit else text[:limit] + "…")


class Relay:
    def __init__(self, gateway: RasaGateway, store: ChatStore, hub: Hub, rasa_url: str,
                 spill_limit: int = SPILL_LIMIT, handoffs: HandoffDoor | None = None,
                 startup_wait: float = 0.0) -> None:
        self.gateway = gateway
        self.starting_until = time.monotonic() + startup_wait
        self.handoffs = handoffs      # while a person holds the conversation, Rasa is not asked
        self.store = store
        self.hub = hub
        self.rasa_url = rasa_url.rstrip("/")
        # Messages that neither Rasa nor the database could take, oldest first, moved into
        # webchat_pending as soon as the database is back (see `_keep`).
        self.spill: deque[dict] = deque()
        self.spill_limit = spill_limit
        self.buttons = OfferedButtons()
        self.urgent_wait = URGENT_WAIT
        self._late: set[asyncio.Task] = set()   # emergencies' answers still on their way

    async def handle(self, session: str, text: str) -> tuple[list[dict], bool]:
        """(bot messages, queued). Never raises for Rasa's sake.

        A text starting with "/" goes to Rasa as it is only when it is a button the bot
        offered this session; otherwise the resident typed it, and Rasa gets the words
        without the slash (or the resident a reply of its own): typing never runs an intent.

        While the conversation is handed off to a person, the words are kept for them and
        Rasa is not asked (see bot/channels/handoff.py)."""
        if self.handoffs is not None:
            held = await self.handoffs.intercept("webchat", session, text)
            if held is not None:
                return [asdict(BotMessage(text=t)) for t in held], False
        if self.buttons.offered(session, text):
            text = text.strip()
        else:
            words = resident_words(text)
            if words is None:
                log.info("webchat: a typed '/' command was not passed to the dialogue")
                return [asdict(BotMessage(text=SLASH_REPLY))], False
            text = words
        message_id = "wc-" + secrets.token_hex(8)
        try:
            behind = self._spilled(session) or await asyncio.to_thread(self.store.has_pending, session)
        except SQLAlchemyError as exc:
            if not is_database_unavailable(exc):
                raise
            # The database cannot tell us; Rasa keeps the words in its own tracker store, so
            # the message goes on rather than being refused (order is at worst as if unqueued).
            log.warning("webchat message %s: database unavailable, sent on without the queue "
                        "check: %s", message_id, str(exc).splitlines()[0][:160])
            behind = False
        if behind:
            await self._keep(session, message_id, text, "queued behind earlier messages", 0.0)
            log.info("webchat message %s queued behind earlier ones", message_id)
            return _kept_reply(text, QUEUED_BEHIND_REPLY), True
        if not await self._rasa_started(STARTUP_HOLD):
            await self._keep(session, message_id, text, "rasa starting", 0.0)
            log.info("webchat message %s kept until rasa has started", message_id)
            return _kept_reply(text, STARTING_REPLY), True
        kept = await self._write_ahead(session, message_id, text)
        sending = asyncio.ensure_future(
            self.gateway.send(sender_id(session), text, _metadata(message_id)))
        # an emergency or a crisis does not wait out a slow dialogue for the number to call; the
        # words are read only when the dialogue is slow, so a prompt answer costs nothing
        await asyncio.wait({sending}, timeout=self.urgent_wait)
        urgent = None if sending.done() else \
            await asyncio.to_thread(call_now, text, do_not_wait_for="我们回复")
        if urgent and not sending.done():
            late = asyncio.ensure_future(self._answer_late(session, message_id, text, kept, sending))
            self._late.add(late)
            late.add_done_callback(self._late.discard)
            log.warning("webchat message %s: an emergency, rasa slow; the number was said "
                        "and the answer follows in the inbox", message_id)
            return _kept_reply(text, URGENT_SLOW_REPLY, urgent), True
        try:
            replies = await sending
        except GatewayDown as exc:
            await self._kept_after_failure(session, message_id, text, kept, exc)
            return _kept_reply(text, QUEUED_REPLY), True
        return await self._answered(session, kept, replies), False

    async def _answered(self, session: str, kept: int | None, replies: list[BotMessage]) -> list[dict]:
        if kept is not None:
            # when the database is away now, the retry asks Rasa's tracker first: the answer
            # reaches the inbox, not Rasa again
            await self._unless_database_away(self.store.done, kept)
        messages = [asdict(m) for m in replies]
        self.buttons.remember(session, messages)
        await self._register_handoff(session, messages)
        return messages

    async def _kept_after_failure(self, session: str, message_id: str, text: str,
                                  kept: int | None, exc: GatewayDown) -> None:
        if kept is None:
            await self._keep(session, message_id, text, str(exc))
        else:
            await self._unless_database_away(self.store.postpone, kept, str(exc))
        log.warning("rasa unavailable (%s); webchat message %s kept for retry: %s",
                    str(exc)[:120] or type(exc).__name__, message_id, excerpt(text))

    async def _answer_late(self, session: str, message_id: str, text: str, kept: int | None,
                           sending: asyncio.Future) -> None:
        """The dialogue's answer to an emergency the app has already answered: into the inbox
        when it comes; kept for the retry loop when Rasa fails after all."""
        try:
            replies = await sending
        except GatewayDown as exc:
            await self._kept_after_failure(session, message_id, text, kept, exc)
            return
        except Exception:  # noqa: BLE001 - the lease of the kept row brings the retry
            log.exception("webchat message %s: the late answer failed", message_id)
            return
        messages = await self._answered(session, kept, replies)
        if messages:
            await self._deliver(session, messages)

    async def _write_ahead(self, session: str, message_id: str, text: str) -> int | None:
        """Keep the message before Rasa is asked (see the module's docstring); None when the
        database cannot take it now: it is sent on regardless, as without the queue check."""
        lease = getattr(self.gateway, "timeout", 15.0) + IN_FLIGHT_MARGIN
        return await self._unless_database_away(self.store.enqueue, session, message_id, text,
                                                "in flight", lease, 0)

    @staticmethod
    async def _unless_database_away(call, *args):
        """`call(*args)` in a thread; None (logged) instead of raising when the database is
        unavailable; any other database error is raised."""
        try:
            return await asyncio.to_thread(call, *args)
        except SQLAlchemyError as exc:
            if not is_database_unavailable(exc):
                raise
            log.warning("webchat: %s skipped, database unavailable: %s", call.__name__,
                        str(exc).splitlines()[0][:160])
            return None

    async def _register_handoff(self, session: str, messages: list[dict]) -> None:
        if self.handoffs is not None:
            await self.handoffs.register("webchat", session, messages)

    async def _rasa_started(self, hold: float) -> bool:
        """False while Rasa is still starting after `hold` seconds more of waiting for it;
        True once it has answered, or when the start-up window is over (then Rasa is down,
        not starting, and the usual path applies)."""
        remaining = self.starting_until - time.monotonic()
        if remaining <= 0 or getattr(self.gateway, "ready", True):
            return True
        return await self.gateway.wait_ready(min(hold, remaining))

    def _spilled(self, session: str) -> bool:
        return any(row["session"] == session for row in self.spill)

    async def _keep(self, session: str, message_id: str, text: str, error: str,
                    delay: float = 5.0) -> None:
        """Queue the message in webchat_pending. When the database cannot take it (locked,
        read-only, gone), keep it in this process until it can — behind any message of the
        same session already kept here, so the order holds. Only when that buffer is full is
        the resident told honestly (503) that this message was not kept."""
        row = {"session": session, "message_id": message_id, "text": text, "error": error,
               "delay": delay}
        if self._spilled(session):
            self._spill(row)
            return
        try:
            await asyncio.to_thread(self.store.enqueue, session, message_id, text, error, delay)
        except SQLAlchemyError as exc:
            if not is_database_unavailable(exc):
                raise
            self._spill(row, exc)

    def _spill(self, row: dict, exc: BaseException | None = None) -> None:
        if len(self.spill) >= self.spill_limit:
            log.error("webchat message %s could not be kept (database unavailable, %s already "
                      "waiting in memory): %s", row["message_id"], len(self.spill), excerpt(row["text"]))
            raise unavailable(en="message not kept: database unavailable", zh=NOT_KEPT_REPLY)
        self.spill.append(row)
        log.error("webchat message %s kept in memory until the database is back (%s waiting)%s",
                  row["message_id"], len(self.spill), f": {str(exc).splitlines()[0][:160]}" if exc else "")

    async def flush_spill(self) -> int:
        """Move messages kept in memory into webchat_pending, oldest first; stops at the first
        database failure. Returns how many moved."""
        moved = 0
        while self.spill:
            row = self.spill[0]
            try:
                await asyncio.to_thread(self.store.enqueue, row["session"], row["message_id"],
                                        row["text"], row["error"], row["delay"])
            except SQLAlchemyError as exc:
                if not is_database_unavailable(exc):
                    raise
                break
            self.spill.popleft()
            moved += 1
        if moved:
            log.info("%s webchat message(s) moved from memory to webchat_pending", moved)
        return moved

    async def retry_once(self) -> int:
        """One pass over kept messages; returns how many got through."""
        if not await self._rasa_started(0.0):
            return 0
        try:
            await self.flush_spill()
            rows = await asyncio.to_thread(self.store.due)
        except SQLAlchemyError as exc:
            if not is_database_unavailable(exc):
                raise
            log.warning("kept webchat messages wait: database unavailable (%s)",
                        str(exc).splitlines()[0][:160])
            return 0
        done = 0
        for row in rows:
            session, message_id = row["session"], row["message_id"]
            if await self._held_for_person(row):
                done += 1
                continue
            try:
                replies = await self._already_answered(session, message_id)
                if replies is None:
                    replies = await self.gateway.send(sender_id(session), row["text"],
                                                      _metadata(message_id, retry=True))
            except GatewayDown as exc:
                status = await asyncio.to_thread(
                    self.store.retry_later, row["id"], row["tries"], str(exc),
                    give_up_after=GIVE_UP_AFTER, created_at=row["created_at"])
                if status == "dead":
                    log.error("webchat message %s given up after %s tries (staff: see "
                              "webchat_pending): %s", message_id, row["tries"], excerpt(row["text"]))
                continue
            if replies:
                messages = [asdict(m) for m in replies]
                self.buttons.remember(session, messages)
                await self._register_handoff(session, messages)
                await self._deliver(session, messages)
            await asyncio.to_thread(self.store.done, row["id"])
            log.info("webchat message %s delivered to rasa after %s tries", message_id, row["tries"])
            done += 1
        return done

    async def _held_for_person(self, row: dict) -> bool:
        """A kept message of a conversation handed off meanwhile goes to the person, not Rasa
        (what the app says itself, if anything, reaches the page as an inbox item)."""
        if self.handoffs is None:
            return False
        said = await self.handoffs.intercept("webchat", row["session"], row["text"])
        if said is None:
            return False
        if said:
            await self._deliver(row["session"], [asdict(BotMessage(text=t)) for t in said])
        await asyncio.to_thread(self.store.done, row["id"])
        return True

    async def _deliver(self, session: str, messages: list[dict]) -> None:
        """Late replies into the session's inbox, and live to an open page."""
        item = await asyncio.to_thread(self.store.add, session, "bot", {"messages": messages})
        await asyncio.to_thread(self.hub.publish, session, item)

    async def _already_answered(self, session: str, message_id: str) -> list[BotMessage] | None:
        """The bot's replies if Rasa has this message in its tracker, else None."""
        return await tracker_replies(self.rasa_url, sender_id(session),
                                     lambda meta: meta.get("message_id") == message_id)


def _metadata(message_id: str, retry: bool = False) -> dict:
    meta = {"channel": "webchat", "message_id": message_id}
    if retry:
        meta["retry"] = True
    return meta
