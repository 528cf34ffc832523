"""Settings of the web app that the shared `Settings` does not carry, read when the app is built."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from bot.settings import Settings

MAX_MESSAGE = 5000          # characters a resident may send in one message
MAX_BODY = 64 * 1024        # bytes of a request body, before any parsing


@dataclass(frozen=True)
class WebSettings:
    secret: bytes                    # signs session tokens; shared by every app replica
    action_url: str                  # action server base URL (for /healthz)
    rasa_timeout: float = 15.0       # seconds a resident waits for Rasa before we queue
    # Seconds after the app starts during which a Rasa that never answered is "starting", not
    # down: messages wait for it instead of being told the system is busy (`bot run` sets it).
    rasa_startup_wait: float = 0.0
    notifier_interval: float = 0.3   # seconds between outbox passes
    watchdog_interval: float = 60.0
    hotspot_interval: float = 900.0  # seconds between hot-spot scans that raise alerts (0: none)
    retry_interval: float = 2.0      # seconds between passes over queued messages
    cookie_secure: bool = False      # set WEBCHAT_COOKIE_SECURE=1 behind HTTPS
    # messages one chat session may send (a person types far slower), and one client address
    # (generous: a village service point or a mobile carrier puts many residents behind one)
    rate_per_session: str = "20/minute;300/hour"
    rate_per_address: str = "240/minute"

    @classmethod
    def from_env(cls, settings: Settings, environ: dict[str, str] | None = None) -> "WebSettings":
        env = os.environ if environ is None else environ
        return cls(
            secret=_secret(env.get("WEBCHAT_SECRET"), settings.var_dir),
            action_url=env.get("ACTION_SERVER_URL") or f"http://127.0.0.1:{settings.action_port}",
            rasa_timeout=float(env.get("WEBCHAT_RASA_TIMEOUT", "15")),
            rasa_startup_wait=float(env.get("RASA_STARTUP_WAIT", "0")),
            notifier_interval=float(env.get("NOTIFIER_INTERVAL", "0.3")),
            watchdog_interval=float(env.get("WATCHDOG_INTERVAL", "60")),
            hotspot_interval=float(env.get("HOTSPOT_INTERVAL", "900")),
            retry_interval=float(env.get("WEBCHAT_RETRY_INTERVAL", "2")),
            cookie_secure=env.get("WEBCHAT_COOKIE_SECURE", "") in ("1", "true", "yes"),
            rate_per_session=env.get("WEBCHAT_RATE_PER_SESSION") or cls.rate_per_session,
            rate_per_address=env.get("WEBCHAT_RATE_PER_ADDRESS") or cls.rate_per_address,
        )


def _secret(value: str | None, var_dir: Path) -> bytes:
    """WEBCHAT_SECRET when set (needed with several replicas); else a key kept in var/."""
    if value:
        return value.encode("utf-8")
    path = var_dir / "webchat.key"
    if not path.is_file():
        var_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode("utf-8")
