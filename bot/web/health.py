"""`/healthz`: the case database, the Rasa server and the action server, checked at once."""
from __future__ import annotations

import asyncio

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text


def router() -> APIRouter:
    api = APIRouter()

    @api.get("/livez")
    async def livez() -> JSONResponse:
        """The app process itself answers (what `bot run` waits for before /healthz)."""
        return JSONResponse({"status": "ok"})

    @api.get("/healthz")
    async def healthz(request: Request) -> JSONResponse:
        container = request.app.state.container
        web = request.app.state.chat.web
        db, rasa, actions = await asyncio.gather(
            asyncio.to_thread(_db_ok, container.engine),
            _http_ok(f"{container.settings.rasa_url.rstrip('/')}/status"),
            _http_ok(f"{web.action_url.rstrip('/')}/health"))
        ok = db and rasa and actions
        return JSONResponse({"status": "ok" if ok else "degraded", "db": db, "rasa": rasa,
                             "actions": actions}, status_code=200 if ok else 503)

    return api


def _db_ok(engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means not healthy
        return False


async def _http_ok(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=3) as client:
            return (await client.get(url)).status_code == 200
    except httpx.HTTPError:
        return False
