"""The web chat door for the notifier: a `Sender` that stores the push in the session's inbox
and publishes it to the open page (SSE). A closed page reads the inbox on return."""
from __future__ import annotations

import logging

from bot.web.hub import Hub
from bot.web.store import ChatStore

log = logging.getLogger(__name__)


class WebchatSender:
    channel = "webchat"

    def __init__(self, store: ChatStore, hub: Hub) -> None:
        self.store = store
        self.hub = hub

    def send(self, address: str | None, text: str, *, case_number: str) -> None:
        if not address:
            raise ValueError("webchat message without a session")
        item = self.store.add(address, "update", {"text": text}, case_number=case_number)
        try:
            self.hub.publish(address, item)
        except Exception as exc:  # noqa: BLE001 - stored: the page still gets it on return
            log.warning("live push for %s failed (kept in the inbox): %s", case_number, exc)
