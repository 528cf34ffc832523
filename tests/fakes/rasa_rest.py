"""A stand-in for our dialogue server's Rasa REST channel (POST /webhooks/rest/webhook).

It records every request and answers like Rasa does: a JSON list of
``{"recipient_id", "text", "buttons", "custom", "image"}``. Tests choose the answer with
`reply` (a function of the request body), make it slow with `delay`, or make it fail with
`down = True` (HTTP 503, as a proxy in front of a dead Rasa answers).
`delay` may be a function of the request body, to make some messages slower than others.
"""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes._server import BackgroundServer


def echo(body: dict) -> list[dict]:
    return [{"text": f"收到：{body['message']}"}]


class FakeRasa:
    def __init__(self, reply: Callable[[dict], list[dict]] = echo, *,
                 delay: float | Callable[[dict], float] = 0.0, port: int = 0) -> None:
        self.reply = reply
        self.delay = delay
        self.down = False
        self.busy = False       # 503 from the webhook while /status is fine (rasa_tools.rest:
                                # the action server or Redis behind Rasa is away)
        self._lock = threading.Lock()
        self._received: list[dict] = []
        self._events: dict[str, list[dict]] = {}      # sender → tracker events, as Rasa keeps
        self._server = BackgroundServer(port=port, app=Starlette(routes=[
            Route("/webhooks/rest/webhook", self._webhook, methods=["POST"]),
            Route("/conversations/{sender}/tracker", self._tracker, methods=["GET"]),
            Route("/status", self._status, methods=["GET"]),
            Route("/_fake/received", self._received_http, methods=["GET"]),
        ]))

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> "FakeRasa":
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> "FakeRasa":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def received(self, sender: str | None = None) -> list[dict]:
        with self._lock:
            return [r for r in self._received if sender in (None, r["sender"])]

    def messages(self, sender: str | None = None) -> list[str]:
        return [r["message"] for r in self.received(sender)]

    async def _webhook(self, request: Request) -> JSONResponse:
        body = await request.json()
        delay = self.delay(body) if callable(self.delay) else self.delay
        if delay:
            await asyncio.sleep(delay)
        if self.down or self.busy:
            return JSONResponse({"error": "unavailable"}, status_code=503)
        with self._lock:
            self._received.append(body)
        try:
            answer = self.reply(body)
        except Exception as exc:  # noqa: BLE001 - like Rasa when an action blows up
            return JSONResponse({"error": str(exc)}, status_code=500)
        with self._lock:                # the turn is saved whether or not the caller still waits
            self._events.setdefault(body["sender"], []).extend(
                [{"event": "user", "text": body.get("message"), "metadata": body.get("metadata") or {}}]
                + [{"event": "bot", "text": item.get("text"),
                    "data": {k: v for k, v in item.items() if k != "text"}} for item in answer])
        return JSONResponse([{"recipient_id": body["sender"], **item} for item in answer])

    async def _tracker(self, request: Request) -> JSONResponse:
        sender = request.path_params["sender"]
        with self._lock:
            return JSONResponse({"sender_id": sender, "events": list(self._events.get(sender, []))})

    async def _received_http(self, request: Request) -> JSONResponse:
        with self._lock:
            senders = {r["sender"] for r in self._received}
            return JSONResponse({"count": len(self._received), "senders": len(senders)})

    async def _status(self, request: Request) -> JSONResponse:
        return JSONResponse({"model_file": "fake.tar.gz"}, status_code=503 if self.down else 200)
