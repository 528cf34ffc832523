"""Hotline transcripts on the web: `POST /api/intake` → proposal, `POST /api/intake/confirm`
→ case number, and the operator page `/intake` (paste, check, correct, confirm).

The page and API are for operators and supervisors: a console session (cookie, and the
`X-CSRF-Token` header on the POSTs) or an API token (`Authorization: Bearer`, `bot staff token
create`). Without one the API answers 401 and the page redirects to the console login; other
roles get 403.
"""
from __future__ import annotations

import logging
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from bot.cases.errors import CaseError, CaseNotFound
from bot.intake.errors import ConfirmConflict, IntakeError
from bot.intake.proposal import Proposal
from bot.intake.reader import FORMATS, ReadFailure, read_bytes, read_text, sniff
from bot.staff import policy
from bot.staff.principal import Staff
from bot.web import jsonsafe, schema
from bot.web.console.auth import current_staff, login_redirect, page_staff, writing_staff
from bot.web.console.pages import refused_page
from bot.web.errors import WebError, error_response, is_database_unavailable, unavailable
from bot.web.requests import Confirm, TranscriptObject, Turn, parse
from bot.web.textbody import decode_text

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
MAX_INTAKE_BODY = 512 * 1024
TOO_LARGE_ZH = "内容过大，请只粘贴一通电话的转写"
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")
TRANSCRIPT_SCHEMA = {"anyOf": [
    {"$ref": schema.REF.format(model="TranscriptObject")},
    {"type": "array", "maxItems": 5000, "minItems": 1,
     "items": {"anyOf": [{"$ref": schema.REF.format(model="Turn")}, {"type": "string"}]}},
]}
schema.register(TranscriptObject, Turn)


def _error(status: int, exc: IntakeError | CaseError, code: str, **extra) -> JSONResponse:
    en = exc.en if isinstance(exc, IntakeError) else str(exc.args[0])
    return JSONResponse({"error": exc.zh, "error_en": en, "code": code, **extra}, status_code=status)


def _service(request: Request):
    state = request.app.state
    service = getattr(state, "intake", None)
    if service is None:
        from bot.intake.classifier import ServerClassifier
        from bot.intake.service import IntakeService

        container = state.container       # the chat's Rasa server classifies: one model per machine
        classifier = ServerClassifier(container.catalog, container.settings.rasa_url)
        service = state.intake = IntakeService.from_container(container, classifier=classifier,
                                                              actor="operator")
    return service


NOT_OPERATOR = WebError(403, "来电登记只对话务员和督办开放，您的账号没有这项权限。", "forbidden",
                        en="intake needs an operator or supervisor")


def _operator(staff: Staff) -> Staff:
    if not policy.can_open_intake(staff):
        raise NOT_OPERATOR
    return staff


async def reading_operator(staff: Staff = Depends(current_staff)) -> Staff:
    return _operator(staff)


async def writing_operator(staff: Staff = Depends(writing_staff)) -> Staff:
    return _operator(staff)


def router() -> APIRouter:
    api = APIRouter()

    @api.post("/api/intake", openapi_extra=schema.body(
        TranscriptObject, json_schema=TRANSCRIPT_SCHEMA,
        extra_content={"text/plain": {"schema": {"type": "string", "maxLength": MAX_INTAKE_BODY}}}))
    async def propose(request: Request, staff: Staff = Depends(writing_operator)) -> Response:
        try:
            body = await jsonsafe.read_body(request, MAX_INTAKE_BODY, TOO_LARGE_ZH)
            transcript = _transcript(body, request.headers.get("content-type", ""),
                                     request.query_params.get("format"))
            proposal = await run_in_threadpool(_service(request).propose, transcript)
        except WebError as exc:
            return error_response(exc)
        except IntakeError as exc:
            return _error(400, exc, "bad_transcript")
        except Exception as exc:  # noqa: BLE001 - a transcript must never cost a 500
            if is_database_unavailable(exc):
                log.warning("intake propose: database unavailable: %s", str(exc)[:200])
                return error_response(unavailable())
            log.exception("intake propose failed on a transcript the reader accepted")
            return _error(400, IntakeError(f"transcript could not be processed: {type(exc).__name__}",
                                           "这份转写无法处理，已记录问题，请检查内容后重试或手工登记"),
                          "bad_transcript")
        return JSONResponse(proposal.to_dict())

    @api.post("/api/intake/confirm", openapi_extra=schema.body(Confirm))
    async def confirm(request: Request, staff: Staff = Depends(writing_operator)) -> Response:
        try:
            body = parse(Confirm, await jsonsafe.json_body(request, MAX_INTAKE_BODY, TOO_LARGE_ZH))
            service = _service(request)
            data = body.proposal.model_dump()
            data["key"] = service.confirm_key(data)      # the client's key is never used
            proposal = Proposal.from_dict(data)
            corrections = body.corrections.model_dump(exclude_unset=True) if body.corrections else {}
            view, existing = await run_in_threadpool(service.confirm, proposal, corrections,
                                                     actor=staff.actor)
        except WebError as exc:
            return error_response(exc)
        except ConfirmConflict as exc:     # the call's case exists with other content: not changed
            return _error(409, exc, "conflict", case={"number": exc.number}, changed=exc.changed)
        except IntakeError as exc:
            return _error(400, exc, "invalid")
        except CaseNotFound as exc:
            return _error(404, exc, "not_found")
        except CaseError as exc:
            return _error(400, exc, "invalid")
        except Exception as exc:
            if is_database_unavailable(exc):
                log.warning("intake confirm: database unavailable: %s", str(exc)[:200])
                return error_response(unavailable(
                    zh="系统这会儿无法保存工单（数据库暂时不可写），本次没有登记。请保留这页内容，稍等一两分钟再点“确认登记”。"))
            raise
        return JSONResponse({"case": {"number": view.number, "state": view.state,
                                      "state_label": view.state_label, "merged_into": view.merged_into,
                                      "body": view.body, "due_at": view.due_at},
                             "existing": existing})

    @api.get("/api/intake/options")
    async def options(request: Request, staff: Staff = Depends(reading_operator)) -> Response:
        """Choices for the page's drop-downs: categories and areas."""
        catalog = request.app.state.container.catalog
        return JSONResponse({
            "categories": [{"code": c.code, "label": c.label, "kind": c.kind} for c in catalog.categories.values()],
            "areas": [{"code": a.code, "name": a.place or a.name, "tier": a.tier}
                      for a in catalog.areas.values() if a.tier != "center"],
        })

    @api.get("/intake", include_in_schema=False)
    async def page(request: Request, staff: Staff | None = Depends(page_staff)) -> Response:
        if staff is None:
            return login_redirect(request)
        if not policy.can_open_intake(staff):
            return refused_page(NOT_OPERATOR.zh)
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


# Body types that name a batch format by themselves (without ?format=).
_TYPE_FORMATS = {"text/csv": "csv", "application/csv": "csv", "text/tab-separated-values": "tsv",
                 "application/x-ndjson": "jsonl", "application/ndjson": "jsonl", "application/jsonl": "jsonl",
                 "application/x-jsonlines": "jsonl", "application/jsonlines": "jsonl",
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx"}
_QUERY_FORMATS = FORMATS + ("tsv",)


def _transcript(body: bytes, content_type: str, fmt: str | None = None):
    """One transcript from a request body: `?format=` (text, json, jsonl, csv, tsv, xlsx, auto)
    first, else the body's type; plain text by default."""
    media = content_type.split(";")[0].strip().lower()
    if fmt is not None:
        fmt = fmt.strip().lower()
        if fmt not in _QUERY_FORMATS:
            raise WebError(400, f"不支持的格式 {fmt[:20]}，format 可为 {'、'.join(_QUERY_FORMATS)}。",
                           "bad_request", en=f"unknown format {fmt[:20]!r}")
    else:
        fmt = _TYPE_FORMATS.get(media) or ("json" if "json" in media else "text")
    if fmt == "auto":
        fmt = sniff(body)      # xlsx, json, jsonl or text
    if fmt == "json":
        return _json_transcript(body, content_type)
    if fmt == "text":
        return read_text(decode_text(body, content_type), id="web", source="web")
    if fmt == "xlsx":
        return _one(read_bytes(body, fmt="xlsx", source="web", name="web"))
    # csv, tsv, jsonl: decoded as text bodies are (a declared charset is obeyed, GBK too)
    data = decode_text(body, content_type).encode("utf-8")
    items = read_bytes(data, fmt="csv" if fmt == "tsv" else fmt, source="web", name="web",
                       suffix=".tsv" if fmt == "tsv" else "")
    if fmt == "jsonl" and len(items) > 1 and not any(isinstance(i, ReadFailure) for i in items):
        # several lines that are the turns of one call ({"speaker", "text"} a line)
        lines = [line for line in data.decode("utf-8").splitlines() if line.strip()]
        as_list = read_bytes(("[" + ",".join(lines) + "]").encode("utf-8"), fmt="json",
                             source="web", name="web")
        if len(as_list) == 1:
            items = as_list
    return _one(items)


def _one(items) -> object:
    failed = [i for i in items if isinstance(i, ReadFailure)]
    if failed:
        raise failed[0].error
    if len(items) != 1:
        raise IntakeError(f"one transcript per request ({len(items)} given)",
                          f"一次只能提交一通电话的转写（收到 {len(items)} 通），批量导入请用 bot intake")
    return items[0]


def _json_transcript(body: bytes, content_type: str):
    doc = jsonsafe.loads(jsonsafe.decode_utf8(body, content_type))
    if isinstance(doc, list):
        for turn in doc[:5000]:
            if not isinstance(turn, str):
                parse(Turn, turn)
        if len(doc) > 5000:
            raise WebError(400, "请求格式不正确：对话轮次太多（最多 5000 条）。", "bad_request")
    else:
        parse(TranscriptObject, doc)
    return _one(read_bytes(body.removeprefix(b"\xef\xbb\xbf"), fmt="json", source="web", name="web"))
