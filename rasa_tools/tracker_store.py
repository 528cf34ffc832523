"""Rasa's SQL tracker store on a local SQLite file, without a disk flush per message.

`bot run` keeps trackers in SQLite (var/rasa/tracker.db). Rasa's `SQLTrackerStore` opens it in
SQLite's default rollback-journal mode and commits once per message from inside Rasa's event
loop: three fsyncs a commit, 30 ms each on this machine under load, during which no other
conversation moves (the load bench's profile: ~32% of the Rasa process's wall time in
`do_commit`). Here the file is in WAL mode with `synchronous=NORMAL` — the case store's own
setting (bot/db.py): a commit is a write to the log, flushed at checkpoints; a crash of the
process loses nothing, a power cut at most the last moments. Connections are pooled instead of
one new connection per query (SQLAlchemy 1.4 uses no pool for SQLite files).

Configured in endpoints.yml as `tracker_store: type: rasa_tools.tracker_store.LocalSQLTrackerStore`
with Rasa's own SQL keys (`dialect`, `db`); any other dialect is left exactly as Rasa has it.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore

BUSY_TIMEOUT_MS = 10_000
PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
           f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def _on_connect(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


class LocalSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore`; on SQLite: WAL, `synchronous=NORMAL` and a connection pool."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name != "sqlite" or self.engine.url.database in (None, "", ":memory:"):
            return
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, poolclass=sa.pool.QueuePool, pool_size=2,
                                       max_overflow=4,
                                       connect_args={"check_same_thread": False})
        sa.event.listen(self.engine, "connect", _on_connect)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
