"""The console pages under `/console`: login, queues, a case, the audit log, staff accounts.

Plain HTML files from `bot/web/static/console/` under the same strict CSP as the chat page (no
inline script, no other origin). A page asked for without a session redirects to
`/console/login?next=<this page>`; a staff member whose role may not open a page gets a
short Chinese page saying so, with the way back to the console.
"""
from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.staff.principal import Staff
from bot.web.console.auth import HOME, login_redirect, page_staff

STATIC = Path(__file__).resolve().parent.parent / "static" / "console"
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")
HEADER_MARK = "<!--header-->"
HEADER = STATIC / "_header.html"
REFUSED = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>没有权限</title><link rel="stylesheet" href="/static/console/console.css"></head>
<body><main class="refused"><h1>没有权限</h1><p>{message}</p>
<p><a href="{home}">返回工作台</a></p></main></body></html>
"""


@lru_cache(maxsize=None)
def _html(name: str, mtimes: tuple[float, float]) -> str:
    """The page with the shared header (`_header.html`); cached until either file changes."""
    text = (STATIC / name).read_text(encoding="utf-8")
    return text.replace(HEADER_MARK, HEADER.read_text(encoding="utf-8").strip())


def page(name: str) -> Response:
    mtimes = ((STATIC / name).stat().st_mtime, HEADER.stat().st_mtime)
    return HTMLResponse(_html(name, mtimes),
                        headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache"})


def refused_page(message: str) -> Response:
    """403 as a page a person reads (an API caller gets the JSON refusal instead)."""
    return HTMLResponse(REFUSED.format(message=html.escape(message), home=HOME), status_code=403,
                        headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store"})


def staff_page(name: str):
    """An endpoint serving page `name` to a logged-in staff member, else the login redirect."""
    async def show(request: Request, staff: Staff | None = Depends(page_staff)) -> Response:
        return page(name) if staff else login_redirect(request)
    return show


def router() -> APIRouter:
    site = APIRouter(include_in_schema=False)

    @site.get("/console/login")
    async def login() -> Response:
        return page("login.html")

    @site.get("/console/")
    async def slash() -> Response:
        return RedirectResponse(HOME, status_code=308)

    for path, name in (("/console", "console.html"), ("/console/cases/{number}", "case.html"),
                       ("/console/audit", "audit.html"), ("/console/staff", "staff.html")):
        site.get(path)(staff_page(name))
    return site
