"""Telegram updates in, dialogue replies out.

Flow: an update (from polling or the webhook) is validated and stored (`UpdateStore.add`,
which drops redeliveries), then the chat's single worker task handles the chat's pending
updates in update_id order through python-telegram-bot's handlers. A handler turns the
update into one call of the Rasa gateway (sender ``telegram:<chat_id>``) and sends the
replies. When the dialogue is down or slow the resident is told once, politely, that the
message is kept; the update stays pending and is retried with backoff, and the chat's later
updates wait behind it so that the conversation stays in order.

Choices (documented for staff and the dialogue engineer):
* edited messages are not applied: the resident is told to send a new message instead;
  silently replacing words already acted on would confuse the dialogue;
* photos and documents up to `max_attachment_bytes` are saved to var/attachments/telegram/
  and kept on the chat's latest open case (or held until one is opened: filing.py), and the
  resident is told; they reach the dialogue as metadata ``attachments`` with the caption as
  the text (without a caption: ``texts.ATTACHMENT_INTENT``, only when no case took them);
  locations as metadata ``location``
  (``texts.LOCATION_INTENT``); a shared contact as the text "我的电话是 …";
  voice, stickers, video and the like get a polite answer asking for text;
* every update's metadata carries ``telegram.update_id`` so actions can use
  ``telegram:<update_id>`` as an idempotency key (a crash between the dialogue's answer and
  the update being marked done means the update is offered once more after restart);
* only private chats are served; updates from groups are stored as skipped.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
from contextlib import suppress
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

from telegram import BotCommand, Message, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import (Application, CallbackQueryHandler, CommandHandler, ContextTypes,
                          MessageHandler, filters)

from bot.channels.handoff import HandoffDoor
from bot.channels.rasa_gateway import BotMessage, GatewayDown, RasaGateway, tracker_replies
from bot.channels.safety_notice import call_now
from bot.cases.attachments import CaseAttachments
from bot.channels.telegram import media, texts
from bot.channels.telegram.filing import CaseFiling
from bot.channels.typed import resident_words
from bot.channels.telegram.render import (MAX_TEXT, PayloadBook, button_title, keyboard,
                                          split_text, utf16_len)
from bot.channels.telegram.store import PENDING, SKIPPED, StoredUpdate, UpdateStore
from bot.channels.telegram.storethread import INTAKE, StoreThread
from bot.logs import mask_pii

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
BATCH = 50                  # pending updates of a chat read at a time
CASE_NUMBER = re.compile(r"[A-Z]{0,4}20\d{6}-\d{4}")


class MalformedUpdate(ValueError):
    """The body is not a Telegram update."""


@dataclass(frozen=True)
class AdapterConfig:
    attachments_dir: Path
    max_attachment_bytes: int = 10 * media.MB
    retry_delays: tuple[float, ...] = (5, 15, 30, 60, 120, 300)
    give_up_after: timedelta = timedelta(hours=24)     # dialogue down this long: tell, drop
    poison_tries: int = 6                              # fails this often while Rasa is up
    claim_lease: timedelta = timedelta(minutes=2)      # > one turn; then a crashed one's retried
    sweep_interval: float = 5.0
    max_concurrency: int = 32
    prune_every: float = 3600.0
    typing_after: float = 1.0


def mask_chat(chat_id: int | None) -> str:
    text = str(chat_id)
    return "chat …" + text[-4:] if len(text) > 4 else "chat " + text


def _said(text: str, extra: dict) -> str:
    """The resident's turn in words for the staff member holding the chat."""
    if extra.get("button"):
        return extra["button"].get("title") or text
    if extra.get("command"):
        return "/" + extra["command"]
    if extra.get("location"):
        return texts.SENT_LOCATION
    if extra.get("attachments") and text == texts.ATTACHMENT_INTENT:
        return texts.SENT_ATTACHMENT
    return text


class TelegramAdapter:
    def __init__(self, application: Application, gateway: RasaGateway, store: UpdateStore,
                 config: AdapterConfig, *, closers: list | None = None,
                 handoffs: HandoffDoor | None = None) -> None:
        self.application = application
        self.handoffs = handoffs              # while a person holds the chat, no dialogue
        self._closers = list(closers or [])   # async callables run by stop()
        self.gateway = gateway
        self.store = store
        self.config = config
        self.book = PayloadBook()
        self.filing = CaseFiling(CaseAttachments(store.engine,
                                                 max_bytes=config.max_attachment_bytes))
        self._tasks: dict[int, asyncio.Task] = {}
        self._again: set[int] = set()
        self._current: dict[int, StoredUpdate] = {}
        # update id -> (why it was deferred, whether only a part behind Rasa was away)
        self._deferred: dict[int, tuple[str, bool]] = {}
        self._db = StoreThread()
        self._slots: asyncio.Semaphore | None = None
        self._sweeper: asyncio.Task | None = None
        self._register_handlers()

    @property
    def bot(self):
        return self.application.bot

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """getMe, the command menu, the retry sweeper, and any updates left from last run."""
        self._slots = asyncio.Semaphore(self.config.max_concurrency)
        await self.application.initialize()
        await self.register_commands()
        await self.filing.load(self._db.run)
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="telegram-sweeper")
        await self.sweep()

    async def stop(self, timeout: float = 10.0) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with suppress(asyncio.CancelledError):
                await self._sweeper
        tasks = [t for t in self._tasks.values() if not t.done()]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=timeout)
            for task in late:      # their updates stay pending and run after the restart
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        await self.application.shutdown()
        for close in self._closers:
            await close()
        self._db.shutdown()

    async def register_commands(self) -> None:
        await self.bot.set_my_commands([BotCommand(c.name, c.description) for c in texts.COMMANDS])

    async def idle(self) -> None:
        """Wait until every chat's worker has nothing left to do now (used by tests)."""
        while any(not t.done() for t in self._tasks.values()):
            await asyncio.gather(*[t for t in self._tasks.values() if not t.done()],
                                 return_exceptions=True)

    # ------------------------------------------------------------------ intake
    async def accept(self, data: object) -> bool:
        """Store one raw update and schedule its chat; False for a redelivery.

        Raises MalformedUpdate when `data` is not a Telegram update. Returns as soon as the
        update is stored: the handling happens in the chat's worker task.
        """
        if not isinstance(data, dict) or type(data.get("update_id")) is not int:
            raise MalformedUpdate("an update is a JSON object with an integer update_id")
        try:
            update = Update.de_json(data, self.bot)
        except Exception as exc:  # noqa: BLE001 - any parse failure means a malformed body
            raise MalformedUpdate(f"not a Telegram update: {type(exc).__name__}") from exc
        chat = update.effective_chat
        status = PENDING if chat is not None and chat.type == "private" else SKIPPED
        kept = data if status == PENDING else {"update_id": update.update_id}   # no content kept
        added = await self._db.run(self.store.add, update.update_id, chat.id if chat else None,
                                     kept, status=status, priority=INTAKE)
        if not added:
            log.info("telegram update %s is a redelivery; ignored", update.update_id)
        elif status == PENDING:
            self._kick(chat.id)
        return added

    async def sweep(self) -> None:
        """Schedule every chat that has an update due (after a restart, or a retry delay)."""
        for chat_id in await self._db.run(self.store.chats_due):
            self._kick(chat_id)

    async def _sweep_forever(self) -> None:
        loop = asyncio.get_running_loop()
        last_prune = loop.time()
        while True:
            await asyncio.sleep(self.config.sweep_interval)
            try:
                await self.sweep()
                if loop.time() - last_prune > self.config.prune_every:
                    last_prune = loop.time()
                    await self._db.run(self.store.prune)
            except Exception:  # noqa: BLE001 - keep sweeping; the database may come back
                log.exception("telegram sweeper failed")

    # ------------------------------------------------------------------ per-chat worker
    def _kick(self, chat_id: int) -> None:
        task = self._tasks.get(chat_id)
        if task is not None and not task.done():
            self._again.add(chat_id)
            return
        self._tasks[chat_id] = asyncio.create_task(self._drain_chat(chat_id),
                                                   name=f"telegram-chat-{chat_id}")

    async def _drain_chat(self, chat_id: int) -> None:
        """The one worker of a chat: pending updates in update_id order, one at a time."""
        try:
            while True:
                self._again.discard(chat_id)
                blocked = busy = False
                handled = 0
                rows = await self._db.run(self.store.pending_for_chat, chat_id, BATCH)
                for row in rows:
                    if not blocked and row.next_attempt_at > self.store.clock():
                        # An earlier update waits: for the dialogue (its resident was told,
                        # and later ones are told too), or in another replica's hands.
                        blocked, busy = True, row.notified
                    if blocked:
                        if busy and not row.notified:
                            await self._tell_busy(row)
                        continue
                    if not await self._db.run(self.store.claim, row.update_id,
                                              self.config.claim_lease):
                        return      # another replica took it; it drains the chat from here
                    handled += 1
                    blocked = busy = not await self._process(row)
                if chat_id not in self._again and (blocked or not handled):
                    return
        except Exception:  # noqa: BLE001 - the sweeper reschedules the chat later
            log.exception("telegram worker for %s failed", mask_chat(chat_id))
        finally:
            if self._tasks.get(chat_id) is asyncio.current_task():
                del self._tasks[chat_id]

    async def _process(self, row: StoredUpdate) -> bool:
        """Handle one update; False when it must wait for the dialogue (kept pending)."""
        try:
            update = Update.de_json(row.payload, self.bot)
        except Exception as exc:  # noqa: BLE001 - stored before a library change, say
            await self._db.run(self.store.mark_failed, row.update_id, f"unreadable: {exc}")
            return True
        self._current[row.update_id] = row
        try:
            async with self._slots:
                await self.application.process_update(update)
        finally:
            self._current.pop(row.update_id, None)
        error, waiting = self._deferred.pop(row.update_id, (None, False))
        if error is None:
            await self._db.run(self.store.mark_done, row.update_id)
            return True
        if self.store.clock() - row.received_at >= self.config.give_up_after:
            log.error("telegram update %s from %s not handled after %s tries; given up: %s",
                      row.update_id, mask_chat(row.chat_id), row.tries + 1, error)
            await self._db.run(self.store.mark_failed, row.update_id, error)
            await self._say(row.chat_id, texts.GAVE_UP)
            return True
        if (row.tries + 1 >= self.config.poison_tries and not waiting
                and await self.gateway.healthy()):
            # The dialogue is up but keeps failing on this one message: do not let it hold
            # the resident's conversation up any longer. (A 503 is no such failure: Rasa says
            # a part behind it is away, so the message waits, up to give_up_after.)
            log.error("telegram update %s from %s fails in the dialogue although it is up "
                      "(%s tries); given up: %s", row.update_id, mask_chat(row.chat_id),
                      row.tries + 1, error)
            await self._db.run(self.store.mark_failed, row.update_id, error)
            await self._say(row.chat_id, texts.ERROR)
            return True
        delays = self.config.retry_delays
        delay = timedelta(seconds=delays[min(row.tries, len(delays) - 1)])
        await self._db.run(self.store.defer, row.update_id, delay, error)
        return False

    async def _tell_busy(self, row: StoredUpdate) -> None:
        """An update queued behind one that waits for the dialogue: say so once."""
        query = row.payload.get("callback_query")
        if query:
            with suppress(TelegramError):
                await self.bot.answer_callback_query(query["id"], text=texts.BUTTON_RECEIVED)
        else:
            message = row.payload.get("message") or row.payload.get("edited_message") or {}
            await self._say_busy(row.chat_id, message.get("text") or message.get("caption") or "")
        await self._db.run(self.store.mark_notified, row.update_id)

    async def _say_busy(self, chat_id: int, text: str) -> None:
        """The dialogue cannot answer now: an emergency or a crisis hears the number to call
        first (bot/channels/safety_notice.py), then every message the busy note."""
        urgent = call_now(text, do_not_wait_for="我们回复") if isinstance(text, str) and text else None
        if urgent:
            await self._say(chat_id, "\n".join(urgent[0]))
        await self._say(chat_id, texts.BUSY)

    def _first_attempt(self, update: Update) -> bool:
        row = self._current.get(update.update_id)
        return row is None or (row.tries == 0 and not row.notified)

    # ------------------------------------------------------------------ dialogue
    async def converse(self, update: Update, text: str, extra: dict | None = None) -> None:
        """One turn with the dialogue; replies go back to the chat. While the chat is handed
        off to a person, the words are kept for them instead (bot/channels/handoff.py)."""
        chat_id = update.effective_chat.id
        if await self._held_for_person(chat_id, _said(text, extra or {})):
            return
        message = update.effective_message
        user = update.effective_user
        metadata = {"channel": "telegram",
                    "telegram": {"update_id": update.update_id,
                                 "message_id": message.message_id if message else None,
                                 "user_id": user.id if user else None,
                                 "language_code": user.language_code if user else None},
                    **(extra or {})}
        typing = asyncio.get_running_loop().call_later(
            self.config.typing_after, lambda: asyncio.ensure_future(self._typing(chat_id)))
        sender = f"telegram:{chat_id}"
        try:
            replies = None
            if not self._first_attempt(update):     # an earlier try may have been handled late
                replies = await tracker_replies(self.gateway.base_url, sender, lambda meta: (
                    meta.get("telegram") or {}).get("update_id") == update.update_id)
            if replies is None:
                replies = await self.gateway.send(sender, text, metadata)
        except GatewayDown as exc:
            self._deferred[update.update_id] = (f"dialogue unavailable: {exc}"[:500],
                                                 exc.retry_later)
            log.warning("telegram: dialogue unavailable; update %s from %s kept for retry: %s",
                        update.update_id, mask_chat(chat_id), mask_pii(text[:40]))
            if self._first_attempt(update):
                await self._say_busy(chat_id, text)
            return
        finally:
            typing.cancel()
        await self.send_replies(chat_id, replies)
        attached = await self.filing.after_turn(self._db.run, chat_id)
        if attached:
            await self._say(chat_id, attached)
        if self.handoffs is not None:
            await self.handoffs.register("telegram", str(chat_id), [asdict(r) for r in replies])

    async def _held_for_person(self, chat_id: int, words: str) -> bool:
        """While a person holds the chat: keep `words` for them, say what the app says itself,
        and return True (the dialogue is not asked)."""
        if self.handoffs is None:
            return False
        held = await self.handoffs.intercept("telegram", str(chat_id), words)
        for reply in held or []:
            await self._say(chat_id, reply)
        return held is not None

    async def _typing(self, chat_id: int) -> None:
        """'正在输入…' only when the dialogue is slow: every request counts against the flood
        limit (30 a second for the whole bot), so it is not sent for quick answers."""
        with suppress(TelegramError):
            await self.bot.send_chat_action(chat_id, ChatAction.TYPING)

    async def send_replies(self, chat_id: int, replies: list[BotMessage]) -> None:
        for reply in replies:
            markup = keyboard(reply.buttons, self.book)
            text = reply.text or ""
            if not text and isinstance(reply.custom, dict) and isinstance(reply.custom.get("case"), dict):
                text = texts.case_card(reply.custom["case"]) or ""
            if reply.image:
                await self._send(self.bot.send_photo, chat_id, photo=reply.image,
                                 reply_markup=None if text else markup)
            if not text and markup is not None and not reply.image:
                text = texts.CHOOSE
            chunks = split_text(text)
            for index, chunk in enumerate(chunks):
                last = index == len(chunks) - 1
                await self._send(self.bot.send_message, chat_id, text=chunk,
                                 reply_markup=markup if last else None)

    async def _say(self, chat_id: int, text: str) -> None:
        await self._send(self.bot.send_message, chat_id, text=text)

    async def _send(self, method, chat_id: int, **kwargs) -> Message | None:
        """Send with a few retries on network trouble; a blocked bot or bad request is logged.

        Flood limits: the AIORateLimiter spaces requests and retries 429s itself; a 429 that
        still comes through is waited out here.
        """
        for attempt in range(4):
            try:
                return await method(chat_id=chat_id, **kwargs)
            except RetryAfter as exc:
                wait = exc.retry_after
                await asyncio.sleep(wait.total_seconds() if isinstance(wait, timedelta) else wait)
            except Forbidden:
                log.info("telegram: %s has blocked the bot; reply dropped", mask_chat(chat_id))
                return None
            except BadRequest as exc:
                log.warning("telegram: reply to %s refused: %s", mask_chat(chat_id), exc)
                return None
            except TelegramError as exc:
                log.warning("telegram: reply to %s failed (try %s): %s",
                            mask_chat(chat_id), attempt + 1, exc)
                await asyncio.sleep(0.5 * 2 ** attempt)
        log.error("telegram: reply to %s lost after retries", mask_chat(chat_id))
        return None

    # ------------------------------------------------------------------ handlers
    def _register_handlers(self) -> None:
        app = self.application
        app.add_handler(MessageHandler(filters.UpdateType.EDITED, self._on_edited))
        app.add_handler(CommandHandler([c.name for c in texts.COMMANDS], self._on_command,
                                       filters=filters.UpdateType.MESSAGE))
        app.add_handler(CallbackQueryHandler(self._on_callback))
        app.add_handler(MessageHandler(filters.COMMAND, self._on_unknown_command))
        app.add_handler(MessageHandler(filters.TEXT, self._on_text))
        app.add_handler(MessageHandler(filters.PHOTO | filters.Document.ALL, self._on_file))
        app.add_handler(MessageHandler(filters.LOCATION, self._on_location))
        app.add_handler(MessageHandler(filters.CONTACT, self._on_contact))
        app.add_handler(MessageHandler(filters.VOICE | filters.AUDIO | filters.VIDEO_NOTE,
                                       self._on_voice))
        app.add_handler(MessageHandler(filters.ALL, self._on_unsupported))
        app.add_error_handler(self._on_error)

    async def _on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        word = update.effective_message.text.split()[0][1:].split("@")[0].lower()
        command = next(c for c in texts.COMMANDS if c.name == word)
        text = command.intent
        if command.name == "status" and context.args:
            number = context.args[0].strip().upper()
            if CASE_NUMBER.fullmatch(number):
                text += json.dumps({"case_number": number})
        await self.converse(update, text, {"command": command.name})

    async def _on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        # A leading slash would be read by Rasa as an intent name: residents only write words.
        text = resident_words(update.effective_message.text.strip())
        if text is None:
            await self._say(update.effective_chat.id, texts.UNKNOWN_COMMAND)
        elif text.strip():
            await self.converse(update, text.strip())

    async def _on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        payload = self.book.decode(query.data or "")
        first = self._first_attempt(update)
        title = None
        if isinstance(query.message, Message):
            title = button_title(query.message.reply_markup, query.data)
        if first:
            with suppress(TelegramError):   # always answered: the resident's spinner stops
                await query.answer(texts.BUTTON_EXPIRED if payload is None else None)
        if payload is None:
            if first:
                await self._say(update.effective_chat.id, texts.BUTTON_EXPIRED)
            return
        if first and isinstance(query.message, Message) and query.message.text:
            # Show what was chosen and take the buttons away, so a choice is made once.
            chosen = texts.CHOSEN.format(text=query.message.text, choice=title or payload)
            with suppress(TelegramError):
                if title and utf16_len(chosen) <= MAX_TEXT:
                    await query.edit_message_text(chosen, reply_markup=None)
                else:
                    await query.edit_message_reply_markup(reply_markup=None)
        await self.converse(update, payload, {"button": {"title": title}})

    async def _on_unknown_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._say(update.effective_chat.id, texts.UNKNOWN_COMMAND)

    async def _on_edited(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._say(update.effective_chat.id, texts.EDITED)

    async def _on_file(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        limit = self.config.max_attachment_bytes
        try:
            saved = await media.save_attachment(self.bot, message, update.update_id,
                                                self.config.attachments_dir, limit)
        except media.TooBig:
            await self._say(message.chat_id, texts.TOO_BIG.format(limit_mb=limit // media.MB))
            return
        except media.DownloadFailed as exc:
            log.warning("telegram: attachment of update %s from %s not saved: %s",
                        update.update_id, mask_chat(message.chat_id), exc)
            await self._say(message.chat_id, texts.FILE_FAILED)
            return
        number, told = await self.filing.file(self._db.run, message.chat_id, saved)
        if told and self._first_attempt(update):
            await self._say(message.chat_id, told)
        text = (resident_words((message.caption or "").strip()) or "").strip()
        if number and not text:     # kept on the case and said so: nothing for the dialogue,
            # but a person holding the chat reads of it
            await self._held_for_person(message.chat_id, texts.SENT_ATTACHMENT)
            return
        await self.converse(update, text or texts.ATTACHMENT_INTENT,
                            {"attachments": [saved.to_metadata()]})

    async def _on_location(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        where = update.effective_message.location
        await self.converse(update, texts.LOCATION_INTENT,
                            {"location": {"latitude": where.latitude,
                                          "longitude": where.longitude}})

    async def _on_contact(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        contact = update.effective_message.contact
        await self.converse(update, texts.CONTACT.format(phone=contact.phone_number),
                            {"contact": {"phone": contact.phone_number,
                                         "name": " ".join(filter(None, [contact.last_name,
                                                                        contact.first_name]))}})

    async def _on_voice(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._say(update.effective_chat.id, texts.VOICE)

    async def _on_unsupported(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_chat is not None and update.effective_message is not None:
            await self._say(update.effective_chat.id, texts.UNSUPPORTED)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if isinstance(update, Update):
            log.error("telegram: handling update %s from %s failed", update.update_id,
                      mask_chat(update.effective_chat.id if update.effective_chat else None),
                      exc_info=context.error)
            if update.effective_chat is not None:
                with suppress(Exception):
                    await self._say(update.effective_chat.id, texts.ERROR)
        else:
            log.error("telegram: error outside an update", exc_info=context.error)
