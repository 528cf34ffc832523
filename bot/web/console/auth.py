"""Who is calling the console: FastAPI dependencies over staff sessions and API tokens.

- A browser holds a server-side session in the `jj_staff` cookie (HttpOnly, SameSite=Strict,
  Secure on https, Path=/). Every state-changing call with a session must carry the session's
  CSRF token in `X-CSRF-Token` (compared in constant time) and must not come from another site
  (`Origin` / `Sec-Fetch-Site`, when the browser sends them).
- A machine client sends `Authorization: Bearer <api token>` (`bot staff token create`); a
  token is not an ambient credential, so it needs no CSRF token.

`current_staff` answers 401 `login_required` without either; `writing_staff` adds 403 `csrf`.
Pages use `page_staff`, which gives None instead, and `login_redirect` (same-site `next` only).
"""
from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from bot.staff.errors import StaffError
from bot.staff.principal import Staff
from bot.web.errors import WebError

COOKIE = "jj_staff"
CSRF_HEADER = "x-csrf-token"
LOGIN_PAGE = "/console/login"
HOME = "/console"
MAX_CREDENTIAL = 512            # characters of a cookie or token looked up at all

LOGIN_REQUIRED = WebError(401, "请先登录。", "login_required", en="staff login required")
CSRF_REFUSED = WebError(403, "页面已过期或请求来源不明，操作没有执行。请刷新页面后再试。", "csrf",
                        en="missing or wrong CSRF token")
CROSS_SITE = WebError(403, "请求来自其他网站，已拒绝。请在本系统页面内操作。", "csrf",
                      en="cross-site request refused")


@dataclass(frozen=True)
class Caller:
    """The staff member and how they proved it: a session (with its CSRF token) or a token."""
    staff: Staff
    session_id: str | None = None
    csrf_token: str | None = None

    @property
    def by_session(self) -> bool:
        return self.session_id is not None


def staff_refusal(exc: StaffError) -> WebError:
    """The account service's refusal in the web's shape (status, Chinese, code, Retry-After)."""
    headers = {"Retry-After": str(int(exc.retry_after))} if exc.retry_after else None
    return WebError(exc.status, exc.zh, exc.code, en=exc.en, headers=headers)


def staff_service(request: Request):
    return request.app.state.container.staff


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    value = value.strip()
    return value if 0 < len(value) <= MAX_CREDENTIAL and value.isascii() else ""


async def caller(request: Request) -> Caller | None:
    """The authenticated caller of this request, or None (looked up once per request)."""
    if hasattr(request.state, "staff_caller"):
        return request.state.staff_caller
    try:
        found = await _lookup(request)
    except StaffError as exc:         # the session store (Redis) is unreachable: a polite 503
        raise staff_refusal(exc) from None
    request.state.staff_caller = found
    return found


async def _lookup(request: Request) -> Caller | None:
    service = staff_service(request)
    token = _bearer(request)
    if token is not None:
        staff = await asyncio.to_thread(service.token, token) if token else None
        return Caller(staff) if staff is not None else None
    sid = request.cookies.get(COOKIE, "")
    if 0 < len(sid) <= MAX_CREDENTIAL and sid.isascii() and sid.isprintable():
        held = await asyncio.to_thread(service.session, sid)
        if held is not None:
            return Caller(held[0], sid, held[1])
    return None


async def current_staff(request: Request) -> Staff:
    """Dependency: the logged-in staff member, else 401 `login_required`."""
    found = await caller(request)
    if found is None:
        raise LOGIN_REQUIRED
    return found.staff


async def writing_staff(request: Request) -> Staff:
    """Dependency for state-changing calls: as `current_staff`, plus same-site and the CSRF
    token when the caller holds a session."""
    found = await caller(request)
    if found is None:
        raise LOGIN_REQUIRED
    if found.by_session:
        refuse_cross_site(request)
        given = request.headers.get(CSRF_HEADER, "")
        if not (given and found.csrf_token and given.isascii() and secrets.compare_digest(
                given.encode("ascii"), found.csrf_token.encode("ascii"))):
            raise CSRF_REFUSED
    return found.staff


def refuse_cross_site(request: Request) -> None:
    """403 when the browser says the request comes from another site: `Sec-Fetch-Site` other
    than same-origin/none, or an `Origin` that is neither the `Host` nor a proxy's
    `X-Forwarded-Host`."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.lower() not in ("same-origin", "none"):
        raise CROSS_SITE
    origin = request.headers.get("origin")
    if origin is not None:
        hosts = {request.headers.get(name, "").lower() for name in ("host", "x-forwarded-host")}
        if origin == "null" or urlsplit(origin).netloc.lower() not in hosts - {""}:
            raise CROSS_SITE


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, session_id: str) -> None:
    secure = is_https(request) or bool(getattr(_web(request), "cookie_secure", False))
    response.set_cookie(COOKIE, session_id, path="/", httponly=True, samesite="strict",
                        secure=secure)


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict",
                           secure=is_https(request))


def _web(request: Request):
    chat = getattr(request.app.state, "chat", None)
    return getattr(chat, "web", None)


async def page_staff(request: Request) -> Staff | None:
    """For HTML pages: the staff member, or None (the page then redirects to the login)."""
    found = await caller(request)
    return found.staff if found else None


def safe_next(value: str | None) -> str:
    """A same-site relative path to go to after login; anything else is the console home."""
    if not value or len(value) > 500 or not value.isprintable():
        return HOME
    if not value.startswith("/") or value.startswith(("//", "/\\")) or "\\" in value:
        return HOME
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return HOME
    return value


def login_redirect(request: Request) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{LOGIN_PAGE}?next={quote(safe_next(here), safe='')}", status_code=303)
