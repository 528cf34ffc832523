"""One shape for every refusal of the web doors: `{"error": 中文, "code": ..., "detail": ...}`.

`WebError` is raised anywhere in a route and turned into a JSON answer by the app's handler
(or by the intake router itself, which also runs on its own in tests). Database trouble
(locked, read-only, disk full, server gone) is a polite 503, never a 500.
"""
from __future__ import annotations

from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc

UNAVAILABLE_ZH = "系统这会儿有点忙，暂时无法保存，请稍等一两分钟再试。给您带来不便，非常抱歉。"
RETRY_AFTER_SECONDS = 30


class WebError(Exception):
    """A refusal with its HTTP status, a Chinese message for people and a stable code."""

    def __init__(self, status: int, zh: str, code: str, *, en: str | None = None,
                 detail: object = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(code)
        self.status, self.zh, self.code = status, zh, code
        self.en, self.detail, self.headers = en, detail, headers


def error_response(exc: WebError) -> JSONResponse:
    body: dict = {"error": exc.zh, "code": exc.code}
    if exc.en is not None:
        body["error_en"] = exc.en
    if exc.detail is not None:
        body["detail"] = exc.detail
    return JSONResponse(body, status_code=exc.status, headers=exc.headers)


def is_database_unavailable(exc: BaseException) -> bool:
    """Errors that mean "the database cannot serve us right now", not a bug in a query.

    OperationalError covers SQLite's locked / read-only / disk I/O / unable to open and
    PostgreSQL's connection failures; InterfaceError and a pool timeout mean the server is gone
    or saturated. IntegrityError and ProgrammingError are not outages and are not matched.
    """
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError,
                            sa_exc.TimeoutError, sa_exc.DisconnectionError))


def unavailable(en: str = "database unavailable", zh: str = UNAVAILABLE_ZH) -> WebError:
    return WebError(503, zh, "unavailable", en=en,
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
