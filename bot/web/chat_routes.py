"""The resident chat API: session, message relay, own cases, inbox and the SSE stream."""
from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy.exc import SQLAlchemyError

from bot.cases.errors import CaseNotFound, InvalidInput
from bot.cases.service import CaseService
from bot.cases.validation import clean_text
from bot.channels.safety_notice import call_now
from bot.web import jsonsafe, resident, schema
from bot.web.config import MAX_BODY, MAX_MESSAGE, WebSettings
from bot.web.errors import WebError, is_database_unavailable
from bot.web.hub import Hub, listen
from bot.web.ratelimit import MessageLimiter
from bot.web.relay import Relay, looks_like_markup
from bot.web.requests import Ack, ChatMessage, parse
from bot.web.sessions import COOKIE, MAX_AGE, SessionTokens
from bot.web.store import ChatStore

log = logging.getLogger(__name__)

WELCOME = ("您好！我是“件件有着落”群众事务代理小助手。您可以直接告诉我遇到的问题，"
           "比如噪音扰民、拖欠工资、办证咨询，我会帮您登记并跟进办理进展。")
KEEPALIVE_SECONDS = 15.0


class ChatError(WebError):
    """A refusal of the chat API (same JSON shape as every web door)."""


NO_SESSION = ChatError(401, "会话已失效，请刷新页面后再试。", "no_session")
TOO_LONG_ZH = f"您的消息太长了（超过{MAX_MESSAGE}字）。请精简一下，或分几次发送。"
TOO_FAST_ZH = "您发得太快了，这条消息没有发出。请稍等一分钟再发送；之前发出的内容都已收到。"
TOO_FAST_URGENT_ZH = "您发得太快了，这条消息没有转到对话里，请先打上面的电话；稍等一分钟后可以继续在这里留言。"


@dataclass
class Chat:
    """Everything the chat routes need; built by `create_app`, kept on `app.state.chat`."""
    cases: CaseService
    store: ChatStore
    hub: Hub
    relay: Relay
    tokens: SessionTokens
    web: WebSettings
    limiter: MessageLimiter


def router() -> APIRouter:
    api = APIRouter(prefix="/api/chat")

    @api.get("/session")
    async def session(request: Request) -> Response:
        chat = _chat(request)
        sid, cookie = _session_or_new(request)
        response = JSONResponse({"welcome": WELCOME,
                                 "quick_replies": ["我要反映问题", "查询我的诉求", "办事咨询"]})
        _set_cookie(response, cookie, chat.web)
        return response

    @api.post("/message", openapi_extra=schema.body(ChatMessage))
    async def message(request: Request) -> Response:
        chat = _chat(request)
        text = _message_text(await _json_body(request))
        sid, cookie = _session_or_new(request)
        address = request.client.host if request.client else "unknown"
        refused = await asyncio.to_thread(_over_limit, chat.limiter, sid, address, text)
        if refused is not None:
            raise refused
        messages, queued = await chat.relay.handle(sid, text)
        response = JSONResponse({"messages": messages, "queued": queued},
                                status_code=202 if queued else 200)
        _set_cookie(response, cookie, chat.web)
        return response

    @api.get("/cases")
    async def cases(request: Request) -> Response:
        chat, sid = _chat(request), _session(request)
        rows = await asyncio.to_thread(resident.my_cases, chat.cases, sid)
        return JSONResponse({"cases": rows})

    @api.get("/cases/{number}")
    async def one_case(number: str, request: Request) -> Response:
        chat, sid = _chat(request), _session(request)
        try:
            row = await asyncio.to_thread(resident.my_case, chat.cases, sid, number[:40])
        except CaseNotFound:
            row = None
        if row is None:
            raise ChatError(404, "没有找到这个编号的诉求，请核对编号。", "not_found")
        return JSONResponse({"case": row})

    @api.get("/updates")
    async def updates(request: Request) -> Response:
        chat, sid = _chat(request), _session(request)
        return JSONResponse({"items": await asyncio.to_thread(chat.store.undelivered, sid)})

    @api.post("/ack", openapi_extra=schema.body(Ack))
    async def ack(request: Request) -> Response:
        chat, sid = _chat(request), _session(request)
        ids = parse(Ack, await _json_body(request)).ids
        count = await asyncio.to_thread(chat.store.acknowledge, sid, ids)
        return JSONResponse({"acknowledged": count})

    @api.get("/events")
    async def events(request: Request) -> Response:
        chat, sid = _chat(request), _session(request)
        return StreamingResponse(_stream(request, chat, sid), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return api


def _over_limit(limiter: MessageLimiter, sid: str, address: str, text: str) -> ChatError | None:
    """Count the message; the refusal when it is over the limit. An emergency or a crisis is
    told the number to call first (a panicking resident sending short messages is who hits the
    limit). The safety check runs only for a refusal, never for a message that goes through;
    past a few refusals a minute from one address, by the rules alone (see MessageLimiter)."""
    wait = limiter.admit(sid, address)
    if wait is None:
        return None
    headers = {"Retry-After": str(wait)}
    urgent = _number_to_call(text, not limiter.full_safety_read(address))
    if urgent is None:
        return ChatError(429, TOO_FAST_ZH, "too_fast", headers=headers)
    lines, level, hotlines = urgent
    return ChatError(429, "\n".join((*lines, TOO_FAST_URGENT_ZH)), "too_fast", headers=headers,
                     detail={"safety": level, "hotlines": list(hotlines)})


@lru_cache(maxsize=256)
def _number_to_call(text: str, rules_only: bool) -> tuple[tuple[str, ...], str, tuple[str, ...]] | None:
    """`call_now` of a refused message; a flood repeating itself is read once."""
    found = call_now(text, do_not_wait_for="我们回复", rules_only=rules_only)
    return None if found is None else (tuple(found[0]), found[1].level, found[1].hotlines)


async def _stream(request: Request, chat: Chat, sid: str):
    """Undelivered items first (covers anything published before we subscribed), then live
    pushes; the page de-duplicates by id and acknowledges what it showed."""
    async with chat.hub.subscribe(sid) as queue:
        yield "retry: 2000\n\n"
        try:
            waiting = await asyncio.to_thread(chat.store.undelivered, sid)
        except SQLAlchemyError as exc:
            if not is_database_unavailable(exc):
                raise
            # The stream has started: say nothing of it; live pushes still come, and the
            # page fetches /api/chat/updates again when it reconnects.
            log.warning("chat stream without the inbox (database unavailable): %s",
                        str(exc).splitlines()[0][:160])
            waiting = []
        for item in waiting:
            yield _event(item)
        async for item in listen(queue, request, KEEPALIVE_SECONDS):
            yield ": keepalive\n\n" if item is None else _event(item)


def _event(item: dict) -> str:
    return f"id: {item['id']}\nevent: {item['kind']}\ndata: {json.dumps(item, ensure_ascii=False)}\n\n"


def _chat(request: Request) -> Chat:
    return request.app.state.chat


def _session(request: Request) -> str:
    sid = _chat(request).tokens.verify(request.cookies.get(COOKIE))
    if sid is None:
        raise NO_SESSION
    return sid


def _session_or_new(request: Request) -> tuple[str, str]:
    """(session id, cookie value to set) — an existing valid cookie is kept."""
    chat = _chat(request)
    value = request.cookies.get(COOKIE)
    sid = chat.tokens.verify(value)
    if sid is None:
        sid, value = chat.tokens.issue()
    return sid, value


def _set_cookie(response: Response, value: str, web: WebSettings) -> None:
    response.set_cookie(COOKIE, value, max_age=MAX_AGE, path="/", httponly=True,
                        samesite="strict", secure=web.cookie_secure)


async def _json_body(request: Request):
    return await jsonsafe.json_body(request, MAX_BODY, TOO_LONG_ZH)


def _message_text(body) -> str:
    text = parse(ChatMessage, body, too_long_status=413, too_long_zh=TOO_LONG_ZH).text
    if not text.strip():
        raise ChatError(400, "您还没有输入内容，请写下您想说的话。", "empty")
    if looks_like_markup(text):
        raise ChatError(400, "消息里含有网页代码（例如 <script> 这样的标签），为了安全没有发送。"
                             "请直接用文字描述您的问题。", "markup")
    try:
        return clean_text(text, limit=MAX_MESSAGE)
    except InvalidInput as exc:
        raise ChatError(400, exc.zh, "invalid") from None
