"""The endpoint Telegram posts updates to (webhook mode).

Telegram sends the secret given to setWebhook in `X-Telegram-Bot-Api-Secret-Token`; a
request without it, or with another value, is refused with 403 and not looked at. A good
update is stored and answered 200 at once; the handling happens in the background (the
adapter's per-chat workers), so Telegram never waits for the dialogue. A body that is not
an update is answered 400 with a short reason, and nothing else happens.
"""
from __future__ import annotations

import hmac
import json
import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.channels.telegram.adapter import MalformedUpdate, TelegramAdapter

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024


def webhook_app(adapter: TelegramAdapter, secret: str, path: str = "/telegram/webhook") -> Starlette:
    if not secret:
        raise ValueError("a webhook needs a secret token")
    expected = secret.encode()

    async def receive(request: Request) -> JSONResponse:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            log.warning("telegram webhook: request with %s secret refused",
                        "a wrong" if given else "no")
            return JSONResponse({"ok": False, "description": "forbidden"}, status_code=403)
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"ok": False, "description": "body too large"}, status_code=413)
        try:
            accepted = await adapter.accept(json.loads(body))
        except (ValueError, MalformedUpdate) as exc:   # JSONDecodeError is a ValueError
            log.warning("telegram webhook: malformed update refused: %s", str(exc)[:200])
            return JSONResponse({"ok": False, "description": "malformed update"}, status_code=400)
        except Exception:  # noqa: BLE001 - not stored: Telegram must deliver it again
            log.exception("telegram webhook: update could not be stored")
            return JSONResponse({"ok": False, "description": "try again"}, status_code=503)
        return JSONResponse({"ok": True, "duplicate": not accepted})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route(path, receive, methods=["POST"]),
                             Route(path.rstrip("/") + "/health", health, methods=["GET"])])
