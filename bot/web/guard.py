"""The last fence: an unexpected exception becomes a logged, polite 500 and the connection lives.

Starlette's ServerErrorMiddleware answers a 500 and then re-raises, so uvicorn logs
"Exception in ASGI application" and closes the keep-alive connection, taking the client's
next requests with it. `CatchAll` sits inside it and does not re-raise. It also turns
`RecursionError`/`MemoryError` from a hostile body into the same answer instead of a crash.
"""
from __future__ import annotations

import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.web.errors import error_response, is_database_unavailable, unavailable

log = logging.getLogger("bot.web.app")

INTERNAL = {"error": "抱歉，系统出了点问题，我们已经记录下来，请稍后再试。", "code": "internal"}


class CatchAll:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:  # noqa: BLE001 - the point of this class
            if started:         # a streaming answer failed half-way: nothing more can be said
                log.exception("error after the response started on %s %s", scope.get("method"),
                              scope.get("path"))
                return
            if is_database_unavailable(exc):
                log.warning("database unavailable on %s %s: %s", scope.get("method"), scope.get("path"),
                            str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__)
                response = error_response(unavailable())
            else:
                log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
                response = _json(500, INTERNAL)
            await response(scope, receive, send)


def _json(status: int, body: dict):
    from starlette.responses import Response

    return Response(json.dumps(body, ensure_ascii=False), status_code=status,
                    media_type="application/json")
