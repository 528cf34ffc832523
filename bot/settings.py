"""One settings object, read from the environment (and `.env` if present)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _load_dotenv(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip('"').strip("'")
    return values


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    var_dir: Path
    case_number_prefix: str = ""
    timezone: str = "Asia/Shanghai"
    outbox_max_tries: int = 8
    outbox_backoff_seconds: float = 30.0
    redis_url: str | None = None
    rasa_url: str = "http://127.0.0.1:5005"
    action_port: int = 5055
    app_port: int = 8000
    telegram_bot_token: str | None = None
    telegram_api_base_url: str | None = None
    rasa_model: Path = ROOT / "models" / "current.tar.gz"
    sqlite_busy_timeout: float | None = None    # seconds; None: the caller's default
    staff_idle_minutes: float = 30.0            # a console session unused this long ends
    staff_session_hours: float = 12.0           # and any session ends this long after login
    staff_duty_agent: str | None = None         # hand-offs' fallback agent; None: the center's

    @property
    def taxonomy_path(self) -> Path:
        return self.data_dir / "taxonomy.yml"

    @property
    def county_dir(self) -> Path:
        return self.data_dir / "county"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        env = {**_load_dotenv(ROOT / ".env"), **(os.environ if environ is None else environ)}
        var_dir = Path(env.get("BOT_VAR_DIR", ROOT / "var"))
        default_db = f"sqlite:///{var_dir / 'cases.db'}"
        return cls(
            database_url=env.get("DATABASE_URL") or default_db,
            data_dir=Path(env.get("BOT_DATA_DIR", ROOT / "data")),
            var_dir=var_dir,
            case_number_prefix=env.get("CASE_NUMBER_PREFIX", ""),
            timezone=env.get("BOT_TIMEZONE", "Asia/Shanghai"),
            outbox_max_tries=int(env.get("OUTBOX_MAX_TRIES", "8")),
            outbox_backoff_seconds=float(env.get("OUTBOX_BACKOFF_SECONDS", "30")),
            redis_url=env.get("REDIS_URL") or None,
            rasa_url=env.get("RASA_URL", "http://127.0.0.1:5005"),
            action_port=int(env.get("ACTION_PORT", "5055")),
            app_port=int(env.get("APP_PORT", "8000")),
            telegram_bot_token=env.get("TELEGRAM_BOT_TOKEN") or None,
            telegram_api_base_url=env.get("TELEGRAM_API_BASE_URL") or None,
            rasa_model=Path(env.get("RASA_MODEL") or ROOT / "models" / "current.tar.gz"),
            sqlite_busy_timeout=_seconds(env.get("SQLITE_BUSY_TIMEOUT")),
            staff_idle_minutes=_positive(env.get("STAFF_IDLE_MINUTES"), 30.0),
            staff_session_hours=_positive(env.get("STAFF_SESSION_HOURS"), 12.0),
            staff_duty_agent=env.get("STAFF_DUTY_AGENT") or None,
        )


def _seconds(value: str | None) -> float | None:
    """A positive, finite number of seconds, or None when unset or unusable."""
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 < seconds < 3600 else None


def _positive(value: str | None, default: float) -> float:
    """A positive, finite number, or `default` when unset or unusable."""
    try:
        number = float(value) if value else default
    except ValueError:
        return default
    return number if 0 < number < float("inf") else default
