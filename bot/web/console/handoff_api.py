"""`/api/staff/handoffs*`: conversations handed to a person, for the console's hand-off desk.

    GET  /api/staff/handoffs                  {"items": [hand-off + "messages" + "last"], "duty_agent"}
         ?state=closed                        recently handed back instead of live ones
    GET  /api/staff/handoffs/stream           SSE: `event: handoff` {"handoff": id, "message": id}
    GET  /api/staff/handoffs/{id}?after=N     {"handoff", "messages": [...]} (messages after id N)
    POST /api/staff/handoffs/{id}/take        {"handoff"}
    POST /api/staff/handoffs/{id}/messages    {"text"} → 201 {"handoff", "message"}; delivered live
    POST /api/staff/handoffs/{id}/return      {"handoff"}; the assistant answers again

Agents and supervisors only (bot.staff.handoff); one 404 for a hand-off that does not exist
and one outside the caller's scope. State-changing calls need the CSRF token (`writing_staff`).
"""
from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import Field, StrictStr
from sqlalchemy.exc import SQLAlchemyError

from bot.channels.handoff import DeliveryFailed, HandoffDoor, ResidentDelivery
from bot.staff.errors import StaffError
from bot.staff.handoff import CLOSED, LIVE, MAX_STAFF_TEXT, RETURNED, HandoffService
from bot.staff.principal import Staff
from bot.web import jsonsafe, schema
from bot.web.console.auth import current_staff, staff_refusal, writing_staff
from bot.web.errors import WebError, is_database_unavailable
from bot.web.hub import CLOSED as HUB_CLOSED
from bot.web.requests import _Body, parse

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0
WAKE = "staff:handoffs"               # hub channel: only the app's shutdown is published on it
TOO_LONG_ZH = f"回复太长了（超过{MAX_STAFF_TEXT}字），请精简或分几次发送。"
NOT_DELIVERED = ("回复已记下，但没能送到群众那里（对方的聊天渠道暂时不通）。"
                 "请稍后再发一次，或通过诉求回复联系群众。")


class HandoffText(_Body):
    """POST /api/staff/handoffs/{id}/messages."""
    text: Annotated[StrictStr, Field(max_length=MAX_STAFF_TEXT)]


schema.register(HandoffText)


@dataclass
class HandoffDesk:
    """The service and the resident's doors, kept on `app.state.handoffs`."""
    service: HandoffService
    delivery: ResidentDelivery

    @classmethod
    def for_app(cls, state) -> "HandoffDesk":
        chat = state.chat
        relay_door = getattr(chat.relay, "handoffs", None)
        service = relay_door.service if isinstance(relay_door, HandoffDoor) else \
            HandoffService.for_container(state.container)
        return cls(service, ResidentDelivery(chat.store, chat.hub, _telegram(state.container)))


def _telegram(container):
    if not container.settings.telegram_bot_token:
        return None
    from bot.channels.telegram.sender import TelegramSender

    return TelegramSender.from_settings(container.settings)


def desk(request: Request) -> HandoffDesk:
    state = request.app.state
    found = getattr(state, "handoffs", None)
    if found is None:
        found = state.handoffs = HandoffDesk.for_app(state)
    return found


async def _call(fn, *args):
    try:
        return await asyncio.to_thread(fn, *args)
    except StaffError as exc:
        raise staff_refusal(exc) from None


def _id(value: str) -> int:
    if not value.isdigit() or len(value) > 12:
        raise staff_refusal(StaffError("没有找到这段转人工对话。", "bad hand-off id", "not_found", status=404))
    return int(value)


def router() -> APIRouter:
    api = APIRouter(prefix="/api/staff/handoffs")

    @api.get("")
    async def listing(request: Request, staff: Staff = Depends(current_staff)) -> Response:
        d = desk(request)
        states = (CLOSED,) if request.query_params.get("state") == "closed" else LIVE
        items = await _call(lambda: d.service.list(staff, states=states, limit=100))
        agent = d.service.catalog.agents[d.service.duty_agent]
        return JSONResponse({"items": items,
                             "duty_agent": {"code": agent.code, "name": agent.name}})

    @api.get("/stream")
    async def stream(request: Request, staff: Staff = Depends(current_staff)) -> Response:
        d = desk(request)
        await _call(lambda: d.service.list(staff, limit=1))    # 403 for roles without hand-offs
        return StreamingResponse(_stream(request, d, staff), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @api.get("/{handoff_id}")
    async def one(handoff_id: str, request: Request,
                  staff: Staff = Depends(current_staff)) -> Response:
        d = desk(request)
        found = await _call(d.service.for_staff, staff, _id(handoff_id))
        after = request.query_params.get("after", "0")
        messages = await asyncio.to_thread(d.service.messages, found.id,
                                           after=int(after) if after.isdigit() else 0)
        return JSONResponse({"handoff": found.to_dict(d.service.catalog), "messages": messages})

    @api.post("/{handoff_id}/take", include_in_schema=False)      # no body: nothing to type
    async def take(handoff_id: str, request: Request,
                   staff: Staff = Depends(writing_staff)) -> Response:
        d = desk(request)
        found = await _call(d.service.take, staff, _id(handoff_id))
        return JSONResponse({"handoff": found.to_dict(d.service.catalog)})

    @api.post("/{handoff_id}/messages", openapi_extra=schema.body(HandoffText))
    async def write(handoff_id: str, request: Request,
                    staff: Staff = Depends(writing_staff)) -> Response:
        d = desk(request)
        number = _id(handoff_id)
        body = parse(HandoffText, await jsonsafe.json_body(request, 64 * 1024, TOO_LONG_ZH),
                     too_long_status=413, too_long_zh=TOO_LONG_ZH)
        found, said = await _call(d.service.staff_message, staff, number, body.text)
        try:
            await asyncio.to_thread(d.delivery.send, found, said["text"])
        except DeliveryFailed as exc:
            log.warning("hand-off %s: staff message not delivered: %s", found.id, exc)
            await asyncio.to_thread(d.service.alert, found.id, "上一条回复没能送达群众。")
            raise WebError(502, NOT_DELIVERED, "not_delivered", en=str(exc)[:200]) from None
        return JSONResponse({"handoff": found.to_dict(d.service.catalog), "message": said},
                            status_code=201)

    @api.post("/{handoff_id}/return", include_in_schema=False)    # no body: nothing to type
    async def hand_back(handoff_id: str, request: Request,
                        staff: Staff = Depends(writing_staff)) -> Response:
        d = desk(request)
        found = await _call(d.service.hand_back, staff, _id(handoff_id))
        delivered = True
        try:
            await asyncio.to_thread(d.delivery.send, found, RETURNED, from_staff=False)
        except DeliveryFailed as exc:     # closed either way: the assistant answers the next words
            log.warning("hand-off %s: return notice not delivered: %s", found.id, exc)
            delivered = False
        return JSONResponse({"handoff": found.to_dict(d.service.catalog), "delivered": delivered})

    return api


def _sees(service: HandoffService, staff: Staff, handoff_id: int) -> bool:
    found = service.get(handoff_id)
    return found is not None and service.visible(staff, found)


async def _stream(request: Request, d: HandoffDesk, staff: Staff):
    """Every new message (resident, staff or system) of a hand-off this staff member sees,
    by polling `handoff_messages` (works across processes without Redis: Telegram's words are
    written by the adapter's process). The page then fetches the hand-off itself."""
    visible: dict[int, bool] = {}
    last: int | None = None
    quiet = 0.0
    async with request.app.state.chat.hub.subscribe(WAKE) as queue:
        yield "retry: 2000\n\n"
        while True:
            try:
                last, rows = await asyncio.to_thread(d.service.changes, last)
            except SQLAlchemyError as exc:
                if not is_database_unavailable(exc):
                    raise
                rows = []
            for message_id, handoff_id in rows:
                if handoff_id not in visible:
                    visible[handoff_id] = await asyncio.to_thread(_sees, d.service, staff, handoff_id)
                if visible[handoff_id]:
                    quiet = 0.0
                    data = json.dumps({"handoff": handoff_id, "message": message_id})
                    yield f"id: {message_id}\nevent: handoff\ndata: {data}\n\n"
            try:
                if await asyncio.wait_for(queue.get(), POLL_SECONDS) is HUB_CLOSED:
                    return
            except asyncio.TimeoutError:
                pass
            quiet += POLL_SECONDS
            if quiet >= KEEPALIVE_SECONDS:
                if await request.is_disconnected():
                    return
                quiet = 0.0
                yield ": keepalive\n\n"
