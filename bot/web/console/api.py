"""The staff JSON API under `/api/staff/` that the console pages use and integrations call.

Sessions (cookie + `X-CSRF-Token`) or API tokens (`Authorization: Bearer`), see `auth`. What a
role may see and do is `bot.staff.policy`'s answer; another body's case is the same 404 as a
number that does not exist. Every body goes through `jsonsafe` and a typed model (`bodies`).
"""
from __future__ import annotations

import asyncio
import json
import logging

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy import select

from bot.cases import Rating
from bot.cases.errors import CaseError, CaseNotFound, IllegalTransition
from bot.cases.lifecycle import ACTION_LABELS, ACTIONS, OPEN_STATES, STATE_LABELS, State
from bot.cases.models import CaseRow
from bot.cases.queries import QUEUES, CaseFilter, CaseQueries
from bot.cases.views import CaseView, iso
from bot.nlu.case_type import CASE_TYPES
from bot.privacy import mask_address, mask_value
from bot.staff import policy
from bot.staff.audit import Audit
from bot.staff.errors import StaffError
from bot.staff.principal import Staff
from bot.web import jsonsafe, schema
from bot.web.console import auth
from bot.web.console.auth import staff_refusal
from bot.web.console.bodies import (BODY_TOO_LARGE_ZH, MAX_STAFF_BODY, TEXT_TOO_LONG_ZH, ActionBody,
                                    JointBody, LoginBody, MergeIntoBody, PasswordBody, RevealBody,
                                    StaffBody, bad_param, filter_params)
from bot.web.console.feed import CaseFeed
from bot.web.errors import WebError
from bot.web.hub import listen
from bot.web.requests import parse

log = logging.getLogger(__name__)

NOT_FOUND = WebError(404, "没有找到这个编号的诉求，请核对编号。", "not_found")
KEEPALIVE_SECONDS = 15.0
schema.register(LoginBody, ActionBody, RevealBody, StaffBody, PasswordBody, MergeIntoBody, JointBody)


def forbidden(zh: str = "您的账号没有权限进行此操作。") -> WebError:
    return WebError(403, zh, "forbidden")


def case_refusal(exc: CaseError) -> WebError:
    if isinstance(exc, CaseNotFound):
        return NOT_FOUND
    if isinstance(exc, IllegalTransition):
        return WebError(409, exc.zh + "。", "illegal_transition", en=str(exc.args[0]))
    return WebError(400, exc.zh, "invalid", en=str(exc.args[0]))


async def _body(request: Request):
    return await jsonsafe.json_body(request, MAX_STAFF_BODY, BODY_TOO_LARGE_ZH)


def _container(request: Request):
    return request.app.state.container


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def queries(request: Request) -> CaseQueries:
    state = request.app.state
    found = getattr(state, "case_queries", None)
    if found is None:
        found = state.case_queries = getattr(state.container, "queries", None) or \
            CaseQueries(state.container.cases)
    return found


def feed(request: Request) -> CaseFeed:
    return request.app.state.case_feed          # made by `bot.web.console.install`


def visible_case(container, staff: Staff, number: str) -> CaseView:
    """The case if this staff member may see it; otherwise the same 404 as a missing one."""
    if not number or len(number) > 40 or not number.isprintable():
        raise NOT_FOUND
    try:
        view = container.cases.get(number)
    except CaseNotFound:
        raise NOT_FOUND from None
    if not policy.can_view(staff, view, container.catalog):
        raise NOT_FOUND
    return view


def case_json(container, staff: Staff, view: CaseView) -> dict:
    """The README case JSON (masked) plus what the page needs: allowed actions, deadlines,
    fields this staff member may reveal."""
    catalog = container.catalog
    data = masked_addresses(view.to_dict())
    actions = policy.actions_for(staff, view, catalog)
    data["actions"] = actions
    data["action_labels"] = {**{a: a for a in (*ACTIONS, *actions)}, **ACTION_LABELS}
    data["channel_label"] = CHANNELS.get(view.channel or "", view.channel)
    data["state_labels"] = {s.value: STATE_LABELS[s] for s in State}
    data["deadlines"] = deadlines(container, view)
    data["can_reveal"] = {f: label for f, label in policy.REVEALABLE.items()
                          if policy.can_reveal(staff, view, f, catalog)}
    return data


def masked_addresses(data: dict) -> dict:
    """A case (or a list item) as the console shows it: exact addresses masked in the place,
    summary, text and event texts; "查看完整信息" (reveal, audited) shows the place whole."""
    for key in ("place", "summary", "text"):
        if isinstance(data.get(key), str):
            data[key] = mask_address(data[key])
    for event in data.get("events") or ():
        for key in ("public_text", "internal_note", "data"):
            event[key] = mask_value(event.get(key), mask_address)
    return data


def pending_deadlines(item: dict) -> dict:
    """The deadlines still running, as ISO times the page counts down to: sign (until signed),
    first contact (until the first public reply), resolution (while open); None otherwise."""
    is_open = State(item["state"]) in OPEN_STATES
    return {"sign": item.get("sign_due_at") if item["state"] == State.ASSIGNED.value else None,
            "contact": item.get("contact_due_at") if is_open and not item.get("contacted_at") else None,
            "resolution": item.get("due_at") if is_open else None}


def deadlines(container, view: CaseView) -> dict:
    with container.cases.session_factory() as session:
        contact_due = session.scalar(select(CaseRow.contact_due_at)
                                     .where(CaseRow.number == view.number))
    replies = [e.at for e in view.events if e.action == "reply"]
    return pending_deadlines({"state": view.state, "sign_due_at": view.sign_due_at,
                              "contact_due_at": iso(contact_due), "due_at": view.due_at,
                              "contacted_at": replies[0] if replies else None})


CHANNELS = {"webchat": "网页在线", "telegram": "Telegram", "hotline": "热线电话", "sms": "短信",
            "cli": "后台录入"}


def filter_options(catalog) -> dict:
    categories = sorted(catalog.categories.values(), key=lambda c: c.code)
    return {
        "queues": [{"code": q, "label": label} for q, label in QUEUES.items()],
        "states": [{"code": s.value, "label": STATE_LABELS[s]} for s in State],
        "categories": [{"code": c.code, "level1": c.level1, "level2": c.level2} for c in categories],
        "level1": sorted({c.level1 for c in categories}),
        "areas": [{"code": a.code, "name": a.name} for a in catalog.areas.values()],
        "bodies": [{"code": b.code, "name": b.name} for b in catalog.bodies.values()],
        "agents": [{"code": a.code, "name": a.name} for a in catalog.agents.values()],
        "channels": [{"code": k, "label": v} for k, v in CHANNELS.items()],
        "types": list(CASE_TYPES),
        "reveal_fields": dict(policy.REVEALABLE),
    }


def router() -> APIRouter:
    api = APIRouter(prefix="/api/staff")

    @api.post("/login", openapi_extra=schema.body(LoginBody))
    async def login(request: Request) -> Response:
        auth.refuse_cross_site(request)
        body = parse(LoginBody, await _body(request))
        service = auth.staff_service(request)
        try:
            done = await asyncio.to_thread(service.login, body.username, body.password,
                                           address=_address(request), totp=body.totp or None)
        except StaffError as exc:
            raise staff_refusal(exc) from None
        old = request.cookies.get(auth.COOKIE)
        if old and len(old) <= auth.MAX_CREDENTIAL:
            await asyncio.to_thread(service.logout, old)
        response = JSONResponse({"csrf_token": done.csrf_token, "staff": done.staff.to_dict()})
        auth.set_session_cookie(response, request, done.session_id)
        return response

    @api.post("/logout", include_in_schema=False)      # no body: nothing for the schema to type
    async def logout(request: Request, staff: Staff = Depends(auth.writing_staff)) -> Response:
        found = await auth.caller(request)
        if found is not None and found.by_session:
            await asyncio.to_thread(auth.staff_service(request).logout, found.session_id)
        response = JSONResponse({"ok": True})
        auth.clear_session_cookie(response, request)
        return response

    @api.get("/me")
    async def me(request: Request, staff: Staff = Depends(auth.current_staff)) -> Response:
        found = await auth.caller(request)
        return JSONResponse({
            "staff": staff.to_dict(), "csrf_token": found.csrf_token if found else None,
            "can": {"intake": policy.can_open_intake(staff), "audit": policy.can_read_audit(staff),
                    "manage_staff": policy.can_manage_staff(staff),
                    "dashboard": policy.can_see_dashboard(staff)}})

    @api.get("/options")
    async def options(request: Request, staff: Staff = Depends(auth.current_staff)) -> Response:
        """Choices for the console's filters and forms."""
        return JSONResponse(filter_options(_container(request).catalog))

    @api.get("/cases")
    async def cases(request: Request, staff: Staff = Depends(auth.current_staff)) -> Response:
        wanted = filter_params(request.query_params)
        try:
            spec = CaseFilter(**wanted)
            result = await asyncio.to_thread(queries(request).page, staff, spec)
            for item in result["items"]:
                masked_addresses(item)
                item["deadlines"] = pending_deadlines(item)
        except CaseError as exc:          # a queue, state or type the read side does not know
            raise case_refusal(exc) from None
        return JSONResponse(result)

    @api.get("/cases/{number}")
    async def one_case(number: str, request: Request,
                       staff: Staff = Depends(auth.current_staff)) -> Response:
        container = _container(request)

        def load() -> dict:
            return case_json(container, staff, visible_case(container, staff, number))

        return JSONResponse(await asyncio.to_thread(load))

    @api.post("/cases/{number}/actions", openapi_extra=schema.body(ActionBody))
    async def act(number: str, request: Request,
                  staff: Staff = Depends(auth.writing_staff)) -> Response:
        body = parse(ActionBody, await _body(request), too_long_status=413,
                     too_long_zh=TEXT_TOO_LONG_ZH)
        container = _container(request)
        if body.action not in ACTIONS:
            raise WebError(400, f"未知的操作：{body.action}。", "bad_request")
        rating = None
        if body.action == "rate":
            if body.solved is None or body.satisfaction is None:
                raise WebError(400, "回访评价需要填写是否解决和满意度。", "invalid")
            rating = Rating(solved=body.solved, satisfaction=body.satisfaction)

        def run() -> dict:
            view = visible_case(container, staff, number)
            if not policy.can_act(staff, view, body.action, container.catalog):
                label = ACTION_LABELS.get(body.action, body.action)
                raise forbidden(f"您的账号（{staff.role_label}）不能对这件诉求执行“{label}”。")
            if body.action == "merge" and body.to:
                visible_case(container, staff, body.to)   # 并单 only into a case one may see
            try:
                done = container.cases.act(view.number, body.action, actor=staff.actor,
                                           text=body.text, to=body.to or body.due, rating=rating)
            except CaseError as exc:
                raise case_refusal(exc) from None
            return case_json(container, staff, done)

        return JSONResponse(await asyncio.to_thread(run))

    @api.post("/cases/{number}/reveal", openapi_extra=schema.body(RevealBody))
    async def reveal(number: str, request: Request,
                     staff: Staff = Depends(auth.writing_staff)) -> Response:
        """The unmasked value; the audit row is written with it (`bot.staff.audit`)."""
        body = parse(RevealBody, await _body(request))
        container = _container(request)

        def run() -> str | None:
            visible_case(container, staff, number)
            try:
                return Audit(container).reveal(staff, number, body.field, body.reason,
                                                  _address(request))
            except CaseError as exc:
                raise case_refusal(exc) from None

        return JSONResponse({"field": body.field, "value": await asyncio.to_thread(run)})

    @api.get("/audit")
    async def audit(request: Request, staff: Staff = Depends(auth.current_staff)) -> Response:
        if not policy.can_read_audit(staff):
            raise forbidden("只有督办和管理员可以查看审计记录。")
        limit = _int_param(request, "limit", 50, 200)
        before = _int_param(request, "before", None, 2 ** 62)
        entries = await asyncio.to_thread(Audit(_container(request)).entries, limit, before)
        return JSONResponse({"entries": entries})

    @api.get("/stream")
    async def stream(request: Request, staff: Staff = Depends(auth.current_staff)) -> Response:
        return StreamingResponse(_stream(request, staff), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    _staff_routes(api)
    return api


def _int_param(request: Request, name: str, default, most: int):
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    if not (value.isascii() and value.isdigit() and len(value) <= 19 and 1 <= int(value) <= most):
        raise bad_param(name, f"应为 1 到 {most} 之间的整数")
    return int(value)


async def _stream(request: Request, staff: Staff):
    """`event: case` for every change of a case this staff member may see."""
    container, live = _container(request), feed(request)

    def visible(item: dict) -> bool:
        try:
            return policy.can_view(staff, live.view(item, container.cases.get), container.catalog)
        except CaseNotFound:
            return False

    async with live.listen() as queue:
        yield "retry: 3000\n\n"
        yield "event: ready\ndata: {}\n\n"
        async for item in listen(queue, request, KEEPALIVE_SECONDS):
            if item is None:
                yield ": keepalive\n\n"
            elif await asyncio.to_thread(visible, item):
                yield f"id: {item['id']}\nevent: case\ndata: {json.dumps(item, ensure_ascii=False)}\n\n"


def _staff_routes(api: APIRouter) -> None:
    """Staff management for admins: list, add, disable, reset a password."""

    def only_admin(staff: Staff) -> Staff:
        if not policy.can_manage_staff(staff):
            raise forbidden("只有管理员可以管理账号。")
        return staff

    async def admin(staff: Staff = Depends(auth.writing_staff)) -> Staff:
        return only_admin(staff)

    async def admin_reader(staff: Staff = Depends(auth.current_staff)) -> Staff:
        return only_admin(staff)

    def call(fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except StaffError as exc:
            raise staff_refusal(exc) from None

    @api.get("/staff")
    async def list_staff(request: Request, staff: Staff = Depends(admin_reader)) -> Response:
        rows = await asyncio.to_thread(auth.staff_service(request).list)
        return JSONResponse({"staff": rows})

    @api.post("/staff", openapi_extra=schema.body(StaffBody))
    async def add_staff(request: Request, staff: Staff = Depends(admin)) -> Response:
        body = parse(StaffBody, await _body(request))
        added = await asyncio.to_thread(call, auth.staff_service(request).add, body.username,
                                        body.role, body.password, name=body.name,
                                        agent_code=body.agent, body_code=body.body)
        return JSONResponse({"staff": added.to_dict()}, status_code=201)

    @api.post("/staff/{username}/disable", include_in_schema=False)
    async def disable(username: str, request: Request, staff: Staff = Depends(admin)) -> Response:
        await asyncio.to_thread(call, auth.staff_service(request).disable, username[:64])
        return JSONResponse({"ok": True})

    @api.post("/staff/{username}/reset", openapi_extra=schema.body(PasswordBody))
    async def reset(username: str, request: Request, staff: Staff = Depends(admin)) -> Response:
        body = parse(PasswordBody, await _body(request))
        await asyncio.to_thread(call, auth.staff_service(request).reset_password, username[:64],
                                body.password)
        return JSONResponse({"ok": True})
