"""The console pages under `/console`: login, queues, a case, the audit log, staff accounts.

Plain HTML files from `bot/web/static/console/` under the same strict CSP as the chat page (no
inline script, no other origin). A page asked for without a session redirects to
`/console/login?next=<this page>`. The pages of owners D and E (`handoff.js`,
`case_extras.js`) are loaded when their files exist.
"""
from __future__ import annotations

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
OPTIONAL = {"console.html": ("handoff.js",), "case.html": ("case_extras.js",)}
SCRIPTS_MARK, HEADER_MARK = "<!--optional-scripts-->", "<!--header-->"


@lru_cache(maxsize=None)
def _html(name: str, mtime: float) -> str:
    """The page with the shared header (`_header.html`) and the optional scripts that exist."""
    text = (STATIC / name).read_text(encoding="utf-8")
    tags = "\n  ".join(f'<script src="/static/console/{js}" defer></script>'
                       for js in OPTIONAL.get(name, ()) if (STATIC / js).is_file())
    header = (STATIC / "_header.html").read_text(encoding="utf-8").strip()
    return text.replace(SCRIPTS_MARK, tags).replace(HEADER_MARK, header)


def page(name: str) -> Response:
    path = STATIC / name
    return HTMLResponse(_html(name, path.stat().st_mtime),
                        headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache"})


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
