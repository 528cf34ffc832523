"""Hotline transcripts on the web: `POST /api/intake` → proposal, `POST /api/intake/confirm`
→ case number, and the operator page `/intake` (paste, check, correct, confirm).

The page and API are for staff. When `INTAKE_TOKEN` is set, every call must carry it
(`Authorization: Bearer <token>`); the handler console will replace this with staff login.
"""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from bot.cases.errors import CaseError, CaseNotFound
from bot.intake.decoding import decode
from bot.intake.errors import IntakeError
from bot.intake.proposal import Proposal
from bot.intake.reader import ReadFailure, read_bytes, read_text

STATIC = Path(__file__).resolve().parent / "static"
MAX_INTAKE_BODY = 512 * 1024
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")


def _error(status: int, exc: IntakeError | CaseError, code: str) -> JSONResponse:
    en = exc.en if isinstance(exc, IntakeError) else str(exc.args[0])
    return JSONResponse({"error": exc.zh, "error_en": en, "code": code}, status_code=status)


def _service(request: Request):
    state = request.app.state
    service = getattr(state, "intake", None)
    if service is None:
        from bot.intake.service import IntakeService

        service = state.intake = IntakeService.from_container(state.container, actor="operator")
    return service


def router(token: str | None = None) -> APIRouter:
    """`token` (or INTAKE_TOKEN, read now, not at import) guards the API when set."""
    token = token if token is not None else os.environ.get("INTAKE_TOKEN") or None
    api = APIRouter()

    def refused(request: Request) -> JSONResponse | None:
        if not token:
            return None
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if given and secrets.compare_digest(given, token):
            return None
        return JSONResponse({"error": "需要话务员口令才能使用此功能。", "error_en": "operator token required",
                             "code": "unauthorized"}, status_code=401)

    async def body_of(request: Request) -> bytes | JSONResponse:
        body = await request.body()
        if len(body) > MAX_INTAKE_BODY:
            return _error(413, IntakeError("transcript too large", "内容过大，请只粘贴一通电话的转写"), "too_large")
        return body

    @api.post("/api/intake")
    async def propose(request: Request) -> Response:
        if (denied := refused(request)) is not None:
            return denied
        body = await body_of(request)
        if isinstance(body, Response):
            return body
        content_type = request.headers.get("content-type", "")
        try:
            transcript = _transcript(body, content_type)
            from starlette.concurrency import run_in_threadpool

            proposal = await run_in_threadpool(_service(request).propose, transcript)
        except IntakeError as exc:
            return _error(400, exc, "bad_transcript")
        return JSONResponse(proposal.to_dict())

    @api.post("/api/intake/confirm")
    async def confirm(request: Request) -> Response:
        if (denied := refused(request)) is not None:
            return denied
        body = await body_of(request)
        if isinstance(body, Response):
            return body
        try:
            data = json.loads(body or b"null")
            if not isinstance(data, dict) or not isinstance(data.get("proposal"), dict):
                raise IntakeError("body must be {proposal, corrections}", "请求格式不对：需要 proposal 和 corrections")
            corrections = data.get("corrections") or {}
            if not isinstance(corrections, dict):
                raise IntakeError("corrections must be an object", "corrections 必须是对象")
            proposal = Proposal.from_dict(data["proposal"])
            from starlette.concurrency import run_in_threadpool

            view, existing = await run_in_threadpool(_service(request).confirm, proposal, corrections)
        except json.JSONDecodeError:
            return _error(400, IntakeError("invalid JSON", "请求不是合法的 JSON"), "bad_request")
        except IntakeError as exc:
            return _error(400, exc, "invalid")
        except CaseNotFound as exc:
            return _error(404, exc, "not_found")
        except CaseError as exc:
            return _error(400, exc, "invalid")
        return JSONResponse({"case": {"number": view.number, "state": view.state,
                                      "state_label": view.state_label, "merged_into": view.merged_into,
                                      "body": view.body, "due_at": view.due_at},
                             "existing": existing})

    @api.get("/api/intake/options")
    async def options(request: Request) -> Response:
        """Choices for the page's drop-downs: categories and areas."""
        if (denied := refused(request)) is not None:
            return denied
        catalog = request.app.state.container.catalog
        return JSONResponse({
            "categories": [{"code": c.code, "label": c.label, "kind": c.kind} for c in catalog.categories.values()],
            "areas": [{"code": a.code, "name": a.place or a.name, "tier": a.tier}
                      for a in catalog.areas.values() if a.tier != "center"],
            "token_required": bool(token),
        })

    @api.get("/intake", include_in_schema=False)
    async def page() -> Response:
        return _static("intake.html", "text/html; charset=utf-8")

    @api.get("/intake/intake.js", include_in_schema=False)
    async def script() -> Response:
        return _static("intake.js", "text/javascript; charset=utf-8")

    @api.get("/intake/intake.css", include_in_schema=False)
    async def style() -> Response:
        return _static("intake.css", "text/css; charset=utf-8")

    return api


def _static(name: str, media_type: str) -> Response:
    return FileResponse(STATIC / name, media_type=media_type,
                        headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache"})


def _transcript(body: bytes, content_type: str):
    if "json" in content_type:
        items = read_bytes(body, fmt="json", source="web", name="web")
        items = [i for i in items]
        if len(items) != 1:
            raise IntakeError("one transcript per request", "一次只能提交一通电话的转写")
        item = items[0]
        if isinstance(item, ReadFailure):
            raise item.error
        return item
    return read_text(decode(body), id="web", source="web")
