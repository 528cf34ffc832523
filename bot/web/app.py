"""The app factory: the resident web chat, its API and `/healthz`.

Nothing is built at import time; `create_app(container)` wires everything from the container.
Other routers (transcripts, the console) are added with `app.include_router(...)` below.
"""
from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.channels.handoff import HandoffDoor
from bot.channels.rasa_gateway import RasaGateway
from bot.container import Container
from bot.staff.handoff import HandoffService
from bot.nlu.warm import warm_in_background
from bot.web import chat_routes, console, health, intake_routes, open311_routes, schema
from bot.web.background import Background
from bot.web.chat_routes import Chat
from bot.web.console import handoff_api
from bot.web.errors import WebError, error_response, is_database_unavailable, unavailable
from bot.web.guard import CatchAll
from bot.web.config import WebSettings
from bot.web.hub import Hub, make_hub
from bot.web.ratelimit import MessageLimiter
from bot.web.relay import Relay
from bot.web.sessions import SessionTokens
from bot.web.store import ChatStore

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")
HTTP_ERRORS = {404: "您访问的页面或接口不存在。", 405: "请求方式不正确，请刷新页面后再试。"}


def create_app(container: Container, *, hub: Hub | None = None,
               gateway: RasaGateway | None = None, web: WebSettings | None = None,
               background: bool = False) -> FastAPI:
    """`background=True` (as under `bot run`) also runs the notifier, watchdog and retry loops."""
    settings = container.settings
    web = web or WebSettings.from_env(settings)
    hub = hub or make_hub(settings.redis_url)
    store = ChatStore(container.engine)
    gateway = gateway or RasaGateway(settings.rasa_url, timeout=web.rasa_timeout)
    relay = Relay(gateway, store, hub, settings.rasa_url,
                  handoffs=HandoffDoor(HandoffService.for_container(container), container.cases),
                  startup_wait=web.rasa_startup_wait)
    loops = Background(container, store, hub, relay, notifier_interval=web.notifier_interval,
                       watchdog_interval=web.watchdog_interval,
                       retry_interval=web.retry_interval,
                       hotspot_interval=web.hotspot_interval) if background else None

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if loops is not None:           # serving residents (bot run): fit the models now
            warm_in_background()
            loops.start()
        try:
            yield
        finally:
            hub.close()          # ends open SSE streams so shutdown does not wait on them
            console.shutdown(app)
            if loops is not None:
                await loops.stop()

    app = FastAPI(title="件件有着落", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.container = container
    limiter = MessageLimiter(web.rate_per_session, web.rate_per_address, settings.redis_url)
    app.state.chat = Chat(cases=container.cases, store=store, hub=hub, relay=relay,
                          tokens=SessionTokens(web.secret), web=web, limiter=limiter)
    app.state.background = loops

    app.include_router(chat_routes.router())
    app.include_router(health.router())
    app.include_router(intake_routes.router())
    app.include_router(open311_routes.router())
    console.install(app)
    app.include_router(handoff_api.router())
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def root() -> Response:
        return RedirectResponse("/chat")

    @app.get("/chat", include_in_schema=False)
    async def chat_page() -> Response:
        return FileResponse(STATIC / "chat.html", media_type="text/html; charset=utf-8",
                            headers={"Content-Security-Policy": PAGE_CSP,
                                     "Cache-Control": "no-cache"})

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    _error_handlers(app)
    app.add_middleware(CatchAll)
    schema.install(app)
    return app


def _error_handlers(app: FastAPI) -> None:
    """Every refusal as `{"error", "code", ...}`. Unexpected exceptions are answered by
    `CatchAll` (inside Starlette's ServerErrorMiddleware, which would re-raise and make
    uvicorn drop the keep-alive connection)."""

    @app.exception_handler(WebError)
    async def web_error(request: Request, exc: WebError) -> JSONResponse:
        if exc.status >= 500 or exc.code not in ("empty", "no_session", "not_found"):
            log.info("web request refused (%s): %s %s", exc.code, request.method, request.url.path)
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": "请求格式不正确，请刷新页面后再试。", "code": "bad_request"},
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        zh = HTTP_ERRORS.get(exc.status_code, "请求没有成功，请稍后再试。")
        return JSONResponse({"error": zh, "code": f"http_{exc.status_code}"},
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(SQLAlchemyError)
    async def database(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        if not is_database_unavailable(exc):
            raise exc       # a bug, not an outage: CatchAll logs it and answers 500
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path,
                    str(exc).splitlines()[0][:200])
        return error_response(unavailable())
