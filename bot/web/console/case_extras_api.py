"""The case page's extras under `/api/staff/`: reply templates, similar open cases for 并单,
and the files the resident sent.

    GET /api/staff/cases/{number}/templates    {"number", "can_reply", "templates": [{id, scope, title, text}]}
    GET /api/staff/cases/{number}/similar      {"number", "can_merge", "items": [similar case …]}
    GET /api/staff/cases/{number}/attachments  {"number", "items": [{id, kind, kind_label, mime_type,
                                                file_name, size, at, url}]}
    GET /api/staff/attachments/{id}            the file (Content-Disposition: attachment, nosniff)

Only for staff who may view the case; another body's case, or a file on it, is the same 404 as
one that does not exist. 并单 itself is the generic action: POST …/actions {"action": "merge",
"to": <number>}.
"""
from __future__ import annotations

import asyncio
from pathlib import PurePath
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from bot.cases.attachments import CaseAttachments
from bot.cases.similar import similar_cases
from bot.staff import policy
from bot.staff.principal import Staff
from bot.web.console import auth
from bot.web.console.api import masked_addresses, visible_case
from bot.web.errors import WebError

NO_FILE = WebError(404, "没有找到这个附件。", "not_found")
MAX_ID_DIGITS = 18


def attachments(request: Request) -> CaseAttachments:
    state = request.app.state
    found = getattr(state, "case_attachments", None)
    if found is None:
        found = state.case_attachments = CaseAttachments(state.container.engine)
    return found


def disposition(file_name: str | None, attachment_id: int, mime_type: str) -> str:
    """`attachment` with an ASCII fallback name and the UTF-8 name (RFC 6266 / 5987)."""
    suffix = PurePath(file_name or "").suffix
    if not (suffix[1:].isascii() and suffix[1:].isalnum() and len(suffix) <= 9):
        suffix = ".jpg" if mime_type == "image/jpeg" else ""
    fallback = f"attachment-{attachment_id}{suffix}"
    name = file_name or fallback
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def router() -> APIRouter:
    api = APIRouter(prefix="/api/staff")

    @api.get("/cases/{number}/templates")
    async def templates(number: str, request: Request,
                        staff: Staff = Depends(auth.current_staff)) -> Response:
        container = request.app.state.container

        def load() -> dict:
            view = visible_case(container, staff, number)
            return {"number": view.number,
                    "can_reply": "reply" in policy.actions_for(staff, view, container.catalog),
                    "templates": container.reply_templates.for_case(view, container.calendar)}

        return JSONResponse(await asyncio.to_thread(load))

    @api.get("/cases/{number}/similar")
    async def similar(number: str, request: Request,
                      staff: Staff = Depends(auth.current_staff)) -> Response:
        container = request.app.state.container
        catalog = container.catalog

        def load() -> dict:
            view = visible_case(container, staff, number)
            found = similar_cases(container.cases, view,
                                  visible=lambda other: policy.can_view(staff, other, catalog))
            return {"number": view.number,
                    "can_merge": "merge" in policy.actions_for(staff, view, catalog),
                    "items": [masked_addresses(s.to_dict()) for s in found]}

        return JSONResponse(await asyncio.to_thread(load))

    @api.get("/cases/{number}/attachments")
    async def case_files(number: str, request: Request,
                         staff: Staff = Depends(auth.current_staff)) -> Response:
        container, files = request.app.state.container, attachments(request)

        def load() -> dict:
            view = visible_case(container, staff, number)
            return {"number": view.number,
                    "items": [{**a.to_dict(), "url": f"/api/staff/attachments/{a.id}"}
                              for a in files.list(view.number)]}

        return JSONResponse(await asyncio.to_thread(load))

    @api.get("/attachments/{attachment_id}")
    async def download(attachment_id: str, request: Request,
                       staff: Staff = Depends(auth.current_staff)) -> Response:
        if not (attachment_id.isascii() and attachment_id.isdigit()
                and len(attachment_id) <= MAX_ID_DIGITS):
            raise NO_FILE
        container, files = request.app.state.container, attachments(request)

        def load():
            found = files.get(int(attachment_id))
            if found is None:
                raise NO_FILE
            meta, content = found
            try:
                visible_case(container, staff, meta.case_number)
            except WebError:
                raise NO_FILE from None
            return meta, content

        meta, content = await asyncio.to_thread(load)
        return Response(content, media_type=meta.mime_type, headers={
            "Content-Disposition": disposition(meta.file_name, meta.id, meta.mime_type),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        })

    return api
