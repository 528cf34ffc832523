"""The whole web app (chat + intake) on a real SQLite store, for the hostile and fuzz tests:
a stand-in Rasa gateway in-process, the keyword classifier for intake, and a fingerprint of
every table to prove that a refused request wrote nothing."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import inspect, text

from bot.channels.rasa_gateway import BotMessage, GatewayDown
from bot.intake.service import IntakeService
from bot.nlu import KeywordClassifier
from bot.web.app import create_app
from bot.web.sessions import COOKIE
from tests.web_support import web_settings


@dataclass
class StubGateway:
    """Answers every message at once (or is down); records what reached "Rasa"."""
    mode: str = "up"
    received: list[str] = field(default_factory=list)

    async def send(self, sender: str, message: str, metadata: dict | None = None) -> list[BotMessage]:
        if self.mode == "down":
            raise GatewayDown("stand-in Rasa is down")
        self.received.append(message)
        return [BotMessage(text="好的，收到。")]


def make_app(container, gateway: StubGateway | None = None, **web):
    settings = web_settings("http://127.0.0.1:9", rate_per_session="100000/minute",
                            rate_per_address="100000/minute", **web)
    app = create_app(container, gateway=gateway or StubGateway(), web=settings)
    app.state.intake = IntakeService(container.cases, container.catalog,
                                     KeywordClassifier(container.catalog), actor="operator",
                                     secret=b"test-intake-secret")
    return app


def session_cookie(app) -> str:
    """A valid signed chat cookie value for a fresh session."""
    return app.state.chat.tokens.issue()[1]


def cookie_header(app) -> dict[str, str]:
    return {"cookie": f"{COOKIE}={session_cookie(app)}"}


OPERATOR_PASSWORD = "长密码-不常见-2026"


def operator_headers(container, username: str = "operator") -> dict[str, str]:
    """`Authorization` for the intake door: an operator's API token whose first use is already
    noted, so a request that must write nothing writes nothing (and a read-only store reads)."""
    container.staff.add(username, "operator", OPERATOR_PASSWORD)
    token = container.staff.create_token(username, "tests")
    assert container.staff.token(token) is not None
    return {"authorization": f"Bearer {token}"}


def fingerprint(engine, skip: tuple[str, ...] = ()) -> str:
    """A digest of every row of every table (alembic's bookkeeping included) but `skip`."""
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table in sorted(set(inspect(conn).get_table_names()) - set(skip)):
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
            digest.update(table.encode())
            for row in sorted(repr(tuple(r)) for r in rows):
                digest.update(row.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()
