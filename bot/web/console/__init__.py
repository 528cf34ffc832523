"""The case handlers' console: staff login, the `/api/staff/*` JSON API and the `/console` pages.

`install(app)` adds the routers (API, pages, case page extras, supervision); the hand-off's
`handoff_api` router is included by `bot.web.app` itself.
"""
from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    from bot.web.console import api, case_extras_api, pages, supervision_api
    from bot.web.console.feed import CaseFeed

    app.state.case_feed = CaseFeed(app.state.container.engine)
    for module in (api, pages, case_extras_api, supervision_api):
        app.include_router(module.router())


def shutdown(app: FastAPI) -> None:
    """End open console streams (as the app does for chat streams on shutdown)."""
    feed = getattr(app.state, "case_feed", None)
    if feed is not None:
        feed.close()
