"""Where the Bot API is: TELEGRAM_API_BASE_URL, or api.telegram.org."""
from __future__ import annotations

DEFAULT_API = "https://api.telegram.org"


def api_root(base_url: str | None) -> str:
    """'http://host:8081' and 'http://host:8081/bot' both mean the API at
    <root>/bot<token>/<method> and the files at <root>/file/bot<token>/<path>."""
    root = (base_url or DEFAULT_API).rstrip("/")
    return root[: -len("/bot")] if root.endswith("/bot") else root
