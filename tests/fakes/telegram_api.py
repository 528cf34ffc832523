"""A fake Telegram Bot API server for tests and local demos (Telegram is unreachable here).

It speaks the real wire format of https://core.telegram.org/bots/api:

* ``GET|POST /bot<token>/<method>`` with query, JSON, form or multipart parameters;
  answers ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": ..., "description":
  ..., "parameters": {"retry_after": N}}``;
* ``GET /file/bot<token>/<file_path>`` for downloads after ``getFile``;
* methods: getMe, getUpdates (long polling with offset/limit/timeout/allowed_updates),
  setWebhook, deleteWebhook, getWebhookInfo, sendMessage, sendPhoto, editMessageText,
  editMessageReplyMarkup, answerCallbackQuery, getFile, setMyCommands, getMyCommands,
  deleteMyCommands, sendChatAction, logOut/close.

The test API is plain Python on :class:`FakeTelegram` (thread-safe): inject updates
(``message``, ``edited_message``, ``callback_query``, ``photo``, ``document``, ``voice``,
``location``, ``add_update``), read what the bot did (``sent``, ``calls``, ``answers``,
``wait_for``), force failures (``fail_next(method, 429, retry_after=1)``) and push updates
to the registered webhook with the secret header as Telegram does (``push_webhook``).
A few of these are also reachable over HTTP under ``/_fake/`` so that a bot running in
another process can be driven by hand:

    .venv/app/bin/python -m tests.fakes.telegram_api --port 8081 --token 123:ABC
    curl -d '{"chat_id": 42, "text": "你好"}' http://127.0.0.1:8081/_fake/message
    curl http://127.0.0.1:8081/_fake/sent
    curl http://127.0.0.1:8081/_fake/stats
"""
from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from email import policy as email_policy
from email.parser import BytesParser
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes._server import BackgroundServer

DEFAULT_TOKEN = "123456:TEST-fake-token"
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
MAX_DOWNLOAD = 20 * 1024 * 1024   # getFile refuses bigger files, as the real API does

# How form/query values are decoded (the real API is typed per parameter).
_INT_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout", "max_connections",
               "reply_to_message_id", "message_thread_id", "cache_time", "user_id"}
_BOOL_FIELDS = {"drop_pending_updates", "show_alert", "disable_notification",
                "protect_content", "disable_web_page_preview"}
_JSON_FIELDS = {"reply_markup", "allowed_updates", "commands", "scope", "entities",
                "link_preview_options", "reply_parameters", "caption_entities"}


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class FakeFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    declared_size: int


@dataclass
class Failure:
    code: int
    description: str
    parameters: dict | None = None


@dataclass
class State:
    updates: list[dict] = field(default_factory=list)     # not yet confirmed
    webhook: dict = field(default_factory=dict)
    chat_counters: dict[int, int] = field(default_factory=dict)
    messages: dict[tuple[int, int], dict] = field(default_factory=dict)
    sent: list[dict] = field(default_factory=list)         # bot's sendMessage/sendPhoto/edits
    calls: list[tuple[str, dict]] = field(default_factory=list)
    answers: list[dict] = field(default_factory=list)      # answerCallbackQuery
    open_queries: set[str] = field(default_factory=set)
    files: dict[str, FakeFile] = field(default_factory=dict)
    commands: dict[str, list[dict]] = field(default_factory=dict)
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)


class FakeTelegram:
    """One fake Bot API server; use as a context manager or call start()/stop()."""

    def __init__(self, token: str = DEFAULT_TOKEN, *, port: int = 0,
                 bot_username: str = "jianjian_test_bot") -> None:
        self.token = token
        self.bot_user = {"id": int(token.split(":")[0]), "is_bot": True,
                         "first_name": "件件有着落", "username": bot_username,
                         "can_join_groups": False, "can_read_all_group_messages": False,
                         "supports_inline_queries": False}
        self.state = State()
        self._lock = threading.RLock()
        self._ids = itertools.count(700001)           # update ids
        self._query_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._server = BackgroundServer(self.app(), port=port)

    # ------------------------------------------------------------------ lifecycle
    @property
    def base_url(self) -> str:
        """Root URL: the API is at <base_url>/bot<token>/<method>."""
        return self._server.url

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/bot{self.token}"

    def start(self) -> "FakeTelegram":
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> "FakeTelegram":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ test API: inject
    def _user(self, chat_id: int, first_name: str = "居民") -> dict:
        return {"id": abs(chat_id), "is_bot": False, "first_name": first_name,
                "language_code": "zh-hans"}

    def _chat(self, chat_id: int, first_name: str = "居民") -> dict:
        if chat_id < 0:
            return {"id": chat_id, "type": "group", "title": "测试群"}
        return {"id": chat_id, "type": "private", "first_name": first_name}

    def _next_message_id(self, chat_id: int) -> int:
        with self._lock:
            self.state.chat_counters[chat_id] = self.state.chat_counters.get(chat_id, 0) + 1
            return self.state.chat_counters[chat_id]

    def _resident_message(self, chat_id: int, **content) -> dict:
        message = {"message_id": self._next_message_id(chat_id), "date": int(time.time()),
                   "chat": self._chat(chat_id), "from": self._user(chat_id), **content}
        with self._lock:
            self.state.messages[(chat_id, message["message_id"])] = message
        return message

    def add_update(self, update: dict) -> dict:
        """Queue a raw update; an `update_id` is assigned when missing."""
        with self._lock:
            update = dict(update)
            update.setdefault("update_id", next(self._ids))
            self.state.updates.append(update)
            return update

    def message(self, chat_id: int, text: str) -> dict:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": _utf16_len(command)}]
        return self.add_update({"message": self._resident_message(chat_id, **content)})

    def edited_message(self, chat_id: int, message_id: int, text: str) -> dict:
        with self._lock:
            original = dict(self.state.messages.get((chat_id, message_id)) or {
                "message_id": message_id, "date": int(time.time()) - 60,
                "chat": self._chat(chat_id), "from": self._user(chat_id)})
        original.update(text=text, edit_date=int(time.time()))
        return self.add_update({"edited_message": original})

    def callback_query(self, chat_id: int, data: str, *, message_id: int | None = None) -> dict:
        """A button press; by default on the bot's latest message that has a keyboard."""
        with self._lock:
            if message_id is None:
                keyed = [m for m in self.state.sent if m["chat_id"] == chat_id
                         and m.get("reply_markup")]
                message_id = keyed[-1]["message_id"] if keyed else None
            message = self.state.messages.get((chat_id, message_id)) if message_id else None
            query_id = str(9000000 + next(self._query_ids))
            self.state.open_queries.add(query_id)
        query = {"id": query_id, "from": self._user(chat_id), "chat_instance": f"ci{chat_id}",
                 "data": data}
        # A message the bot can no longer see arrives as an InaccessibleMessage (date 0).
        query["message"] = message or {"chat": self._chat(chat_id), "message_id": message_id or 0,
                                       "date": 0}
        return self.add_update({"callback_query": query})

    def add_file(self, content: bytes, *, folder: str = "documents", suffix: str = ".bin",
                 declared_size: int | None = None) -> FakeFile:
        with self._lock:
            number = next(self._file_ids)
            item = FakeFile(file_id=f"FILE{number:04d}{secrets.token_hex(4)}",
                            file_unique_id=f"U{number:04d}",
                            file_path=f"{folder}/file_{number}{suffix}", content=content,
                            declared_size=len(content) if declared_size is None else declared_size)
            self.state.files[item.file_id] = item
            return item

    def photo(self, chat_id: int, content: bytes = b"\xff\xd8\xff\xe0fake-jpeg",
              caption: str | None = None, declared_size: int | None = None) -> dict:
        thumb = self.add_file(content[:8], folder="photos", suffix=".jpg")
        full = self.add_file(content, folder="photos", suffix=".jpg", declared_size=declared_size)
        sizes = [{"file_id": f.file_id, "file_unique_id": f.file_unique_id, "width": w,
                  "height": w * 3 // 4, "file_size": f.declared_size}
                 for f, w in ((thumb, 90), (full, 1280))]
        extra = {"caption": caption} if caption else {}
        return self.add_update({"message": self._resident_message(chat_id, photo=sizes, **extra)})

    def document(self, chat_id: int, content: bytes = b"%PDF-1.4 fake", *,
                 file_name: str = "材料.pdf", mime_type: str = "application/pdf",
                 caption: str | None = None, declared_size: int | None = None) -> dict:
        item = self.add_file(content, suffix="." + file_name.rsplit(".", 1)[-1],
                             declared_size=declared_size)
        doc = {"file_id": item.file_id, "file_unique_id": item.file_unique_id,
               "file_name": file_name, "mime_type": mime_type, "file_size": item.declared_size}
        extra = {"caption": caption} if caption else {}
        return self.add_update({"message": self._resident_message(chat_id, document=doc, **extra)})

    def voice(self, chat_id: int, content: bytes = b"OggS fake voice", duration: int = 5) -> dict:
        item = self.add_file(content, folder="voice", suffix=".oga")
        voice = {"file_id": item.file_id, "file_unique_id": item.file_unique_id,
                 "duration": duration, "mime_type": "audio/ogg", "file_size": item.declared_size}
        return self.add_update({"message": self._resident_message(chat_id, voice=voice)})

    def location(self, chat_id: int, latitude: float = 34.7466, longitude: float = 113.6254) -> dict:
        return self.add_update({"message": self._resident_message(
            chat_id, location={"latitude": latitude, "longitude": longitude})})

    def sticker(self, chat_id: int) -> dict:
        item = self.add_file(b"RIFF fake webp", folder="stickers", suffix=".webp")
        sticker = {"file_id": item.file_id, "file_unique_id": item.file_unique_id,
                   "type": "regular", "width": 512, "height": 512, "is_animated": False,
                   "is_video": False, "emoji": "👍"}
        return self.add_update({"message": self._resident_message(chat_id, sticker=sticker)})

    # ------------------------------------------------------------------ test API: control
    def fail_next(self, method: str, code: int = 429, description: str | None = None, *,
                  retry_after: int | None = None, times: int = 1) -> None:
        """The next `times` calls of `method` fail (429 carries retry_after, default 1 s)."""
        if code == 429:
            retry_after = 1 if retry_after is None else retry_after
            description = description or f"Too Many Requests: retry after {retry_after}"
        params = {"retry_after": retry_after} if retry_after is not None else None
        with self._lock:
            self.state.failures.setdefault(method, []).extend(
                [Failure(code, description or "Bad Request", params)] * times)

    def block(self, chat_id: int) -> None:
        """The resident blocked the bot: sending to this chat answers 403."""
        with self._lock:
            self.state.blocked.add(chat_id)

    def push_webhook(self, update: dict | None = None, *, secret: str | None = "registered",
                     body: bytes | None = None, timeout: float = 10.0) -> httpx.Response:
        """POST one update (default: the oldest queued) to the webhook, as Telegram does.

        `secret="registered"` sends the secret given to setWebhook; None sends no header;
        any other string is sent as a forged header. A 2xx answer confirms the update.
        `body` sends raw bytes instead (for malformed-JSON tests).
        """
        with self._lock:
            hook = dict(self.state.webhook)
            if update is None and body is None:
                update = self.state.updates[0]
        if not hook.get("url"):
            raise RuntimeError("no webhook set")
        headers = {"Content-Type": "application/json"}
        token = hook.get("secret_token") if secret == "registered" else secret
        if token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = token
        content = body if body is not None else json.dumps(update, ensure_ascii=False).encode()
        response = httpx.post(hook["url"], content=content, headers=headers, timeout=timeout)
        if response.is_success and update is not None:
            with self._lock:
                self.state.updates = [u for u in self.state.updates
                                      if u["update_id"] != update["update_id"]]
        return response

    # ------------------------------------------------------------------ test API: read
    def sent(self, chat_id: int | None = None) -> list[dict]:
        with self._lock:
            return [dict(m) for m in self.state.sent if chat_id is None or m["chat_id"] == chat_id]

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [m.get("text") or m.get("caption") or "" for m in self.sent(chat_id)
                if m["method"] in ("sendMessage", "sendPhoto")]

    def calls(self, method: str | None = None) -> list[dict]:
        with self._lock:
            return [dict(p, _method=m) for m, p in self.state.calls if method in (None, m)]

    def answers(self) -> list[dict]:
        with self._lock:
            return list(self.state.answers)

    def commands(self, scope: str = "default", language_code: str = "") -> list[dict]:
        with self._lock:
            return list(self.state.commands.get(f"{scope}/{language_code}", []))

    def pending_updates(self) -> list[dict]:
        with self._lock:
            return list(self.state.updates)

    def wait_for(self, predicate, timeout: float = 10.0, interval: float = 0.02):
        """Poll `predicate(self)` until it is truthy; return its value or raise TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate(self)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout}s; sent={self.texts()}")
            time.sleep(interval)

    def wait_for_texts(self, chat_id: int, count: int, timeout: float = 10.0) -> list[str]:
        return self.wait_for(lambda f: (t := f.texts(chat_id)) and len(t) >= count and t,
                             timeout=timeout)

    # ------------------------------------------------------------------ HTTP
    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"]),
            Route("/file/bot{token}/{path:path}", self._download, methods=["GET"]),
            Route("/_fake/message", self._http_message, methods=["POST"]),
            Route("/_fake/update", self._http_update, methods=["POST"]),
            Route("/_fake/sent", self._http_sent, methods=["GET"]),
            Route("/_fake/stats", self._http_stats, methods=["GET"]),
        ])

    async def _endpoint(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _error(ApiError(401, "Unauthorized"))
        method = request.path_params["method"]
        try:
            params = await _read_params(request)
        except ValueError as exc:
            return _error(ApiError(400, f"Bad Request: {exc}"))
        with self._lock:
            self.state.calls.append((method, params))
            queued = self.state.failures.get(method) or []
            failure = queued.pop(0) if queued else None
        if failure is not None:
            return _error(ApiError(failure.code, failure.description, failure.parameters))
        handler = getattr(self, f"_m_{method.lower()}", None)
        if handler is None:
            return _error(ApiError(404, "Not Found"))
        try:
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
        except ApiError as exc:
            return _error(exc)
        except (KeyError, TypeError, ValueError) as exc:
            return _error(ApiError(400, f"Bad Request: {exc}"))
        return JSONResponse({"ok": True, "result": result})

    async def _download(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return Response(status_code=401)
        path = request.path_params["path"]
        with self._lock:
            match = [f for f in self.state.files.values() if f.file_path == path]
        if not match:
            return Response(status_code=404)
        return Response(match[0].content, media_type="application/octet-stream")

    async def _http_message(self, request: Request) -> Response:
        body = await request.json()
        return JSONResponse(self.message(int(body["chat_id"]), str(body["text"])))

    async def _http_update(self, request: Request) -> Response:
        return JSONResponse(self.add_update(await request.json()))

    async def _http_sent(self, request: Request) -> Response:
        chat = request.query_params.get("chat_id")
        return JSONResponse(self.sent(int(chat) if chat else None))

    async def _http_stats(self, request: Request) -> Response:
        with self._lock:
            calls: dict[str, int] = {}
            for method, _ in self.state.calls:
                calls[method] = calls.get(method, 0) + 1
            return JSONResponse({"sent": len(self.state.sent), "calls": calls,
                                 "chats": len({m["chat_id"] for m in self.state.sent}),
                                 "pending_updates": len(self.state.updates)})

    # ------------------------------------------------------------------ methods
    def _m_getme(self, params: dict) -> dict:
        return self.bot_user

    def _m_logout(self, params: dict) -> bool:
        return True

    def _m_close(self, params: dict) -> bool:
        return True

    async def _m_getupdates(self, params: dict) -> list[dict]:
        with self._lock:
            if self.state.webhook.get("url"):
                raise ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                    "active; use deleteWebhook to delete the webhook first")
            if "allowed_updates" in params:
                self.state.webhook["allowed_updates"] = params["allowed_updates"] or []
        offset = int(params.get("offset") or 0)
        limit = max(1, min(int(params.get("limit") or 100), 100))
        deadline = time.monotonic() + max(0, int(params.get("timeout") or 0))
        while True:
            with self._lock:
                if offset > 0:   # confirm everything below the offset
                    self.state.updates = [u for u in self.state.updates if u["update_id"] >= offset]
                    ready = list(self.state.updates)
                elif offset < 0:
                    ready = self.state.updates[offset:]
                else:
                    ready = list(self.state.updates)
                allowed = self.state.webhook.get("allowed_updates") or []
                if allowed:
                    ready = [u for u in ready if any(k in u for k in allowed)]
            if ready or time.monotonic() >= deadline:
                return ready[:limit]
            await asyncio.sleep(0.02)

    def _m_setwebhook(self, params: dict) -> bool:
        url = params.get("url") or ""
        secret = params.get("secret_token")
        if secret is not None and not (1 <= len(secret) <= 256
                                       and all(c.isalnum() or c in "_-" for c in secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        with self._lock:
            if params.get("drop_pending_updates"):
                self.state.updates.clear()
            self.state.webhook = {"url": url, "secret_token": secret,
                                  "allowed_updates": params.get("allowed_updates") or [],
                                  "max_connections": params.get("max_connections", 40)}
        return True

    def _m_deletewebhook(self, params: dict) -> bool:
        with self._lock:
            if params.get("drop_pending_updates"):
                self.state.updates.clear()
            self.state.webhook = {}
        return True

    def _m_getwebhookinfo(self, params: dict) -> dict:
        with self._lock:
            hook = self.state.webhook
            info = {"url": hook.get("url", ""), "has_custom_certificate": False,
                    "pending_update_count": len(self.state.updates)}
            if hook.get("url"):
                info["max_connections"] = hook.get("max_connections", 40)
                if hook.get("allowed_updates"):
                    info["allowed_updates"] = hook["allowed_updates"]
            return info

    def _target_chat(self, params: dict) -> int:
        chat_id = params["chat_id"]
        if not isinstance(chat_id, int):
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self.state.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _check_markup(self, markup: Any) -> None:
        if markup is None:
            return
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if not button.get("text"):
                    raise ApiError(400, "Bad Request: text buttons are unallowed in the "
                                        "inline keyboard")

    def _bot_message(self, method: str, chat_id: int, **content) -> dict:
        content = {k: v for k, v in content.items() if v is not None}
        message = {"message_id": self._next_message_id(chat_id), "from": self.bot_user,
                   "chat": self._chat(chat_id), "date": int(time.time()), **content}
        with self._lock:
            self.state.messages[(chat_id, message["message_id"])] = message
            self.state.sent.append({"method": method, "chat_id": chat_id,
                                    "message_id": message["message_id"], **content})
        return message

    def _m_sendmessage(self, params: dict) -> dict:
        with self._lock:
            chat_id = self._target_chat(params)
        text = params.get("text")
        if not text or not str(text).strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(str(text)) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        self._check_markup(params.get("reply_markup"))
        return self._bot_message("sendMessage", chat_id, text=str(text),
                                 reply_markup=params.get("reply_markup"))

    def _m_sendphoto(self, params: dict) -> dict:
        with self._lock:
            chat_id = self._target_chat(params)
        photo = params.get("photo")
        if not photo:
            raise ApiError(400, "Bad Request: there is no photo in the request")
        return self._bot_message("sendPhoto", chat_id, photo=[{"file_id": "P" + str(photo)[:20],
                                 "file_unique_id": "UP", "width": 640, "height": 480}],
                                 caption=params.get("caption"), photo_source=str(photo),
                                 reply_markup=params.get("reply_markup"))

    def _edit(self, method: str, params: dict, **changes) -> dict:
        with self._lock:
            chat_id = self._target_chat(params)
            key = (chat_id, int(params["message_id"]))
            message = self.state.messages.get(key)
            if message is None or message.get("from", {}).get("id") != self.bot_user["id"]:
                raise ApiError(400, "Bad Request: message to edit not found")
            updated = dict(message, edit_date=int(time.time()))
            for name, value in changes.items():
                if value is None:
                    updated.pop(name, None)
                else:
                    updated[name] = value
            if all(updated.get(k) == message.get(k) for k in changes):
                raise ApiError(400, "Bad Request: message is not modified: specified new message "
                                    "content and reply markup are exactly the same as a current "
                                    "content and reply markup of the message")
            self.state.messages[key] = updated
            self.state.sent.append({"method": method, "chat_id": chat_id,
                                    "message_id": key[1], **changes})
            return updated

    def _m_editmessagetext(self, params: dict) -> dict:
        text = params.get("text")
        if not text:
            raise ApiError(400, "Bad Request: message text is empty")
        self._check_markup(params.get("reply_markup"))
        return self._edit("editMessageText", params, text=str(text),
                          reply_markup=params.get("reply_markup"))

    def _m_editmessagereplymarkup(self, params: dict) -> dict:
        self._check_markup(params.get("reply_markup"))
        return self._edit("editMessageReplyMarkup", params, reply_markup=params.get("reply_markup"))

    def _m_answercallbackquery(self, params: dict) -> bool:
        query_id = str(params["callback_query_id"])
        with self._lock:
            if query_id not in self.state.open_queries:
                raise ApiError(400, "Bad Request: query is too old and response timeout expired "
                                    "or query ID is invalid")
            self.state.open_queries.discard(query_id)
            self.state.answers.append(params)
        return True

    def _m_getfile(self, params: dict) -> dict:
        with self._lock:
            item = self.state.files.get(str(params["file_id"]))
        if item is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if item.declared_size > MAX_DOWNLOAD:
            raise ApiError(400, "Bad Request: file is too big")
        return {"file_id": item.file_id, "file_unique_id": item.file_unique_id,
                "file_size": item.declared_size, "file_path": item.file_path}

    @staticmethod
    def _scope_key(params: dict) -> str:
        scope = (params.get("scope") or {}).get("type", "default")
        return f"{scope}/{params.get('language_code') or ''}"

    def _m_setmycommands(self, params: dict) -> bool:
        commands = params["commands"]
        for item in commands:
            if not (1 <= len(item["command"]) <= 32 and item["command"].islower()
                    and 1 <= len(item["description"]) <= 256):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        with self._lock:
            self.state.commands[self._scope_key(params)] = list(commands)
        return True

    def _m_getmycommands(self, params: dict) -> list[dict]:
        with self._lock:
            return list(self.state.commands.get(self._scope_key(params), []))

    def _m_deletemycommands(self, params: dict) -> bool:
        with self._lock:
            self.state.commands.pop(self._scope_key(params), None)
        return True

    def _m_sendchataction(self, params: dict) -> bool:
        with self._lock:
            self._target_chat(params)
        return True


def _error(exc: ApiError) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
    if exc.parameters:
        body["parameters"] = exc.parameters
    return JSONResponse(body, status_code=exc.code)


def _coerce(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if name in _JSON_FIELDS:
        return json.loads(value)
    if name in _INT_FIELDS:
        try:
            return int(value)
        except ValueError:
            return value        # e.g. "@channel"
    if name in _BOOL_FIELDS:
        return value.lower() in ("true", "1")
    return value


async def _read_params(request: Request) -> dict:
    params: dict[str, Any] = dict(parse_qsl(request.url.query))
    ctype = request.headers.get("content-type", "")
    if request.method == "POST":
        if ctype.startswith("application/json"):
            body = await request.body()
            if body:
                data = json.loads(body)
                if not isinstance(data, dict):
                    raise ValueError("parameters must be a JSON object")
                params.update(data)
        elif ctype.startswith("application/x-www-form-urlencoded"):
            params.update(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
        elif ctype.startswith("multipart/form-data"):
            params.update(_multipart(ctype, await request.body()))
    try:
        return {key: _coerce(key, value) for key, value in params.items()}
    except json.JSONDecodeError as exc:
        raise ValueError(f"can't parse JSON parameter: {exc}") from exc


def _multipart(ctype: str, body: bytes) -> dict[str, Any]:
    """Parse multipart/form-data with the standard library (files become bytes)."""
    message = BytesParser(policy=email_policy.HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        fields[name] = payload if part.get_filename() else payload.decode("utf-8")
    return fields


def main() -> None:   # pragma: no cover - manual demo helper
    import argparse

    parser = argparse.ArgumentParser(description="Fake Telegram Bot API server")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    args = parser.parse_args()
    fake = FakeTelegram(args.token, port=args.port).start()
    print(f"fake Telegram Bot API at {fake.base_url}  (TELEGRAM_API_BASE_URL={fake.base_url})",
          flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":   # pragma: no cover
    main()
