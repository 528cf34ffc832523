"""Open311 GeoReport v2 under `/open311/v2/` (and `/open311/discovery`), in `.json` or `.xml`.

A thin door: the calls are `bot.open311.door.Open311Door`'s; this module reads the request,
bounds its body, counts the client's POSTs, and answers every refusal as the spec's error
list (400 / 403 / 404, and 413 / 415 / 429 / 503 where HTTP has a better word) — never the
other doors' JSON shape, which an Open311 client could not read.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from bot.open311 import render, submission
from bot.open311.config import KeyLimiter, Open311Settings
from bot.open311.door import Open311Door
from bot.open311.errors import Open311Error, bad, not_found
from bot.open311.keys import CACHE_SECONDS, ApiKeys
from bot.web import jsonsafe
from bot.web.errors import WebError, is_database_unavailable

log = logging.getLogger(__name__)

BASE = "/open311/v2"
SPEC = "http://wiki.open311.org/GeoReport_v2"
UNAVAILABLE = Open311Error(503, "系统这会儿有点忙，暂时无法处理，请稍等一两分钟再试", "service unavailable",
                           headers={"Retry-After": "30"})
TOO_FAST = Open311Error(429, "提交太频繁，请稍等一分钟再提交", "too many requests from this api_key",
                        headers={"Retry-After": "60"})


def _door(request: Request) -> tuple[Open311Door, KeyLimiter, Open311Settings]:
    state = request.app.state
    built = getattr(state, "open311", None)
    if built is None:
        container = state.container
        settings = Open311Settings.from_env()
        keys = ApiKeys(container.engine, cache_seconds=CACHE_SECONDS)
        built = state.open311 = (Open311Door(container.cases, keys, settings.jurisdiction),
                                 KeyLimiter(settings.rate_per_key, container.settings.redis_url), settings)
    return built


def _format(fmt: str) -> str:
    if fmt not in render.FORMATS:
        raise not_found("只提供 .json 和 .xml 两种格式", f"format {fmt[:10]!r} not supported")
    return fmt


async def _answer(fmt: str, call) -> Response:
    """Run `call` (which returns a Response) and turn any refusal into the spec's error list."""
    shown = fmt if fmt in render.FORMATS else "xml"
    try:
        _format(fmt)
        return await call()
    except Open311Error as exc:
        if exc.status >= 500 or exc.status in (403, 429):
            log.info("open311 refused (%s): %s", exc.status, exc.en)
        return render.error(shown, exc)
    except Exception as exc:
        if is_database_unavailable(exc):
            log.warning("open311: database unavailable: %s", str(exc).splitlines()[0][:200])
            return render.error(shown, UNAVAILABLE)
        raise


def _when(request: Request, name: str) -> datetime | None:
    value = request.query_params.get(name)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value[:40].replace("Z", "+00:00"))
    except ValueError:
        raise bad(f"{name} 应为 W3C 时间格式，例如 2026-11-01T00:00:00Z", f"{name} is not a W3C datetime") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def _list(request: Request, name: str) -> list[str] | None:
    value = request.query_params.get(name)
    if not value:
        return None
    return [part.strip()[:64] for part in value.split(",") if part.strip()]


def router() -> APIRouter:
    api = APIRouter(include_in_schema=False)

    @api.get("/open311/discovery.{fmt}")
    async def discovery(fmt: str, request: Request) -> Response:
        async def call():
            settings = _door(request)[2]
            base = str(request.base_url).rstrip("/") + BASE
            doc = {"changeset": "2026-12-02T00:00:00Z", "contact": settings.contact,
                   "key_service": "向服务方申请 api_key（bot open311 key create）",
                   "endpoints": [{"specification": SPEC, "url": base, "changeset": "2026-12-02T00:00:00Z",
                                  "type": "production", "formats": ["text/xml", "application/json"]}]}
            return render.answer(fmt, "discovery", None, doc)
        return await _answer(fmt, call)

    @api.post(BASE + "/requests.{fmt}")
    async def create(fmt: str, request: Request) -> Response:
        async def call():
            door, limiter, _ = _door(request)
            try:
                raw = await jsonsafe.read_body(request, submission.MAX_BODY)
            except WebError:
                raise Open311Error(413, f"提交的内容太大了（超过 {submission.MAX_BODY // 1024}KB）",
                                   f"body larger than {submission.MAX_BODY} bytes") from None
            fields = submission.fields_of(raw, request.headers.get("content-type", ""))
            for name in ("api_key", "jurisdiction_id"):
                fields.setdefault(name, request.query_params.get(name))
            if request.headers.get("idempotency-key"):
                fields.setdefault("idempotency_key", request.headers["idempotency-key"][:128])
            door.check_jurisdiction(fields.get("jurisdiction_id"))

            def file():
                """The key, the fields, the client's rate, the filing: one worker-thread hop
                (the limiter may ask Redis, which is no work for the event loop either)."""
                client = door.client(fields.get("api_key"))
                sub = submission.read(fields)
                if not limiter.allow(client.name):
                    raise TOO_FAST
                return door.submit(client, sub)
            filed = await run_in_threadpool(file)
            return render.answer(fmt, "service_requests", "request", [{
                "service_request_id": filed.number, "token": filed.token,
                "service_notice": filed.notice, "account_id": filed.account_id}])
        return await _answer(fmt, call)

    def reading(path: str, root: str, item: str | None, read) -> None:
        """A GET call: the jurisdiction checked, `read(door, request, **path params)` in a
        worker thread, its rows rendered under `root`/`item`."""
        async def route(fmt: str, request: Request) -> Response:
            async def call():
                door = _door(request)[0]
                door.check_jurisdiction(request.query_params.get("jurisdiction_id"))
                params = {k: v for k, v in request.path_params.items() if k != "fmt"}
                data = await run_in_threadpool(read, door, request, **params)
                return render.answer(fmt, root, item, data)
            return await _answer(fmt, call)
        api.add_api_route(BASE + path, route, methods=["GET"])

    reading("/services.{fmt}", "services", "service", lambda door, request: door.services())
    reading("/services/{code}.{fmt}", "service_definition", None,
            lambda door, request, code: door.definition(code))
    reading("/requests.{fmt}", "service_requests", "request", lambda door, request: door.search(
        ids=_list(request, "service_request_id"), codes=_list(request, "service_code"),
        start=_when(request, "start_date"), end=_when(request, "end_date"), status=_list(request, "status")))
    reading("/requests/{number}.{fmt}", "service_requests", "request",
            lambda door, request, number: [door.one(number)])
    reading("/tokens/{token}.{fmt}", "service_requests", "request",
            lambda door, request, token: [door.token(token)])
    reading("/servicerequestupdates.{fmt}", "service_requests_updates", "request_update",
            lambda door, request: door.updates(_when(request, "start_date"), _when(request, "end_date")))

    @api.api_route("/open311/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    async def unknown(rest: str) -> Response:
        fmt = "json" if rest.endswith(".json") else "xml"
        return render.error(fmt, not_found("没有这个 Open311 接口", "no such Open311 call"))

    return api
