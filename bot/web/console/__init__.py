"""The case handlers' console: staff login, the `/api/staff/*` JSON API and the `/console` pages.

`install(app)` adds the routers, and the case page extras' (`case_extras_api`) when that module
exists; the hand-off's `handoff_api` router is included by `bot.web.app` itself.
"""
from __future__ import annotations

import importlib
import logging

from fastapi import FastAPI

log = logging.getLogger(__name__)

EXTRA_MODULES = ("bot.web.console.case_extras_api", "bot.web.console.supervision_api")


def install(app: FastAPI) -> None:
    from bot.web.console import api, pages
    from bot.web.console.feed import CaseFeed

    app.state.case_feed = CaseFeed(app.state.container.engine)
    app.include_router(api.router())
    app.include_router(pages.router())
    for name in EXTRA_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        app.include_router(module.router())


def shutdown(app: FastAPI) -> None:
    """End open console streams (as the app does for chat streams on shutdown)."""
    feed = getattr(app.state, "case_feed", None)
    if feed is not None:
        feed.close()
