"""Rasa's SQL tracker store on a local SQLite file, without a disk flush per message.

`bot run` keeps trackers in SQLite (var/rasa/tracker.db). Rasa's `SQLTrackerStore` opens it in
SQLite's default rollback-journal mode and commits once per message from inside Rasa's event
loop: three fsyncs a commit, 30 ms each on this machine under load, during which no other
conversation moves (the load bench's profile: ~32% of the Rasa process's wall time in
`do_commit`). Here the file is in WAL mode with `synchronous=NORMAL` — the case store's own
setting (bot/db.py): a commit is a write to the log, flushed at checkpoints; a crash of the
process loses nothing, a power cut at most the last moments. Connections are pooled instead of
one new connection per query (SQLAlchemy 1.4 uses no pool for SQLite files). Reading and saving
go through SQLAlchemy Core — the same queries and rows as Rasa's, without building an ORM
object per event (the ORM was ~20% of the Rasa process's time under load).

Configured in endpoints.yml as `tracker_store: type: rasa_tools.tracker_store.LocalSQLTrackerStore`
with Rasa's own SQL keys (`dialect`, `db`); any other dialect is left exactly as Rasa has it.
"""
from __future__ import annotations

import itertools
import json
from typing import Any, Optional

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

BUSY_TIMEOUT_MS = 10_000
PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
           f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def _on_connect(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


class LocalSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore`; on SQLite: WAL, `synchronous=NORMAL`, a pool and Core queries."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.local = (self.engine.dialect.name == "sqlite"
                      and self.engine.url.database not in (None, "", ":memory:"))
        if not self.local:
            return
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, poolclass=sa.pool.QueuePool, pool_size=2,
                                       max_overflow=4,
                                       connect_args={"check_same_thread": False})
        sa.event.listen(self.engine, "connect", _on_connect)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    def _in_session(self, sender_id: str, all_sessions: bool = False):
        """Rasa's filter: the sender's events from its latest `session_started` on."""
        table = self.SQLEvent.__table__
        mine = table.c.sender_id == sender_id
        if all_sessions:
            return mine
        start = (sa.select(sa.func.max(table.c.timestamp))
                 .where(mine, table.c.type_name == SessionStarted.type_name).scalar_subquery())
        return sa.and_(mine, sa.or_(table.c.timestamp >= start, start.is_(None)))

    async def _retrieve(self, sender_id: str,
                        fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        if not self.local:
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        table = self.SQLEvent.__table__
        query = (sa.select(table.c.data).where(self._in_session(sender_id, fetch_events_from_all_sessions))
                 .order_by(table.c.id))
        with self.engine.connect() as connection:
            events = [json.loads(data) for data in connection.execute(query).scalars()]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

    async def save(self, tracker: DialogueStateTracker) -> None:
        if not self.local:
            return await super().save(tracker)
        await self.stream_events(tracker)
        table = self.SQLEvent.__table__
        stored = sa.select(sa.func.count()).select_from(table).where(
            self._in_session(tracker.sender_id))
        with self.engine.begin() as connection:
            new = itertools.islice(tracker.events, connection.execute(stored).scalar(), None)
            rows = [_row(tracker.sender_id, event) for event in new]
            if rows:
                connection.execute(table.insert(), rows)


def _row(sender_id: str, event: Event) -> dict:
    """The `events` row Rasa's `SQLTrackerStore.save` writes for `event`."""
    data = event.as_dict()
    return {"sender_id": sender_id, "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"), "data": json.dumps(data)}
