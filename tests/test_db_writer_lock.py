"""One process's SQLite writers queue on a Python lock before BEGIN IMMEDIATE (bot/db.py):
concurrent writers stay correct, the lock is given back however a transaction ends, readers
never take it, and nothing that used to end (a nested writer, a timeout) now hangs."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from bot.db import make_engine, make_read_session_factory, make_session_factory, writer_lock


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "w.db"
    engine = make_engine(f"sqlite:///{path}", busy_timeout=5.0)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        conn.exec_driver_sql("INSERT INTO counter VALUES (1, 0)")
    yield engine, path
    engine.dispose()


def no_busy_wait(engine):
    """SQLite itself gives up at once on a locked file: only the Python lock can queue."""
    @event.listens_for(engine, "connect")
    def _(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA busy_timeout=0")


def free(path) -> bool:
    lock = writer_lock(str(path))._lock
    if lock.acquire(blocking=False):
        lock.release()
        return True
    return False


def bump(sessions) -> None:
    """Read, think, write: lost updates if two writers ever overlapped."""
    with sessions() as session, session.begin():
        n = session.execute(text("SELECT n FROM counter WHERE id = 1")).scalar_one()
        time.sleep(0.0005)
        session.execute(text("UPDATE counter SET n = :n WHERE id = 1"), {"n": n + 1})


def count(engine) -> int:
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT n FROM counter").scalar_one()


def test_threads_writing_at_once_queue_in_python_not_in_sqlite(db):
    engine, path = db
    no_busy_wait(engine)
    engine.dispose()
    sessions = make_session_factory(engine)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: bump(sessions), range(400)))      # raises "database is locked"
    assert count(engine) == 400                                    # … or loses an update
    assert free(path)


def test_engines_on_one_file_share_the_lock(db):
    engine, path = db
    other = make_engine(f"sqlite:///{path}", busy_timeout=5.0)
    no_busy_wait(engine), no_busy_wait(other)
    engine.dispose()
    both = [make_session_factory(engine), make_session_factory(other)]
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda i: bump(both[i % 2]), range(200)))
    assert count(engine) == 200 and free(path)
    other.dispose()


def test_a_failed_or_abandoned_transaction_gives_the_lock_back(db):
    engine, path = db
    sessions = make_session_factory(engine)
    with pytest.raises(ZeroDivisionError):
        with sessions() as session, session.begin():
            session.execute(text("UPDATE counter SET n = 99"))
            1 / 0
    assert free(path) and count(engine) == 0
    conn = engine.connect()
    conn.exec_driver_sql("UPDATE counter SET n = 5")
    assert not free(path)
    conn.close()                                       # never committed: rolled back
    assert free(path) and count(engine) == 0
    conn = engine.connect()
    conn.exec_driver_sql("UPDATE counter SET n = 6")
    conn.invalidate()                                  # the DBAPI connection is closed
    assert free(path) and count(engine) == 0
    with pytest.raises(OperationalError):
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE nowhere SET n = 1")
    assert free(path)


def test_readers_do_not_wait_for_a_writer(db):
    engine, path = db
    reads = make_read_session_factory(engine)
    with engine.connect() as writer:
        writer.exec_driver_sql("UPDATE counter SET n = 1")
        seen = []
        reader = threading.Thread(target=lambda: seen.append(
            reads().execute(text("SELECT n FROM counter")).scalar_one()))
        reader.start()
        reader.join(2)
        assert seen == [0]                             # WAL: the committed value, at once
        writer.commit()


def test_a_writer_waits_for_the_one_before_and_then_goes(db):
    engine, path = db
    order = []
    with engine.connect() as first:
        first.exec_driver_sql("UPDATE counter SET n = 1")

        def second():
            with engine.begin() as conn:
                order.append(("second", conn.exec_driver_sql("SELECT n FROM counter").scalar_one()))
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.2)
        order.append(("first commits", None))
        first.commit()
        thread.join(5)
    assert order == [("first commits", None), ("second", 1)]


def test_a_nested_writer_in_the_same_thread_fails_as_sqlite_would_not_hangs(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'n.db'}", busy_timeout=0.3)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    started = time.monotonic()
    with engine.connect() as outer:
        outer.exec_driver_sql("INSERT INTO t VALUES (1)")
        with pytest.raises(OperationalError, match="locked"):
            with engine.begin() as inner:              # a second connection, same thread
                inner.exec_driver_sql("INSERT INTO t VALUES (2)")
        outer.commit()
    assert time.monotonic() - started < 3
    assert free(tmp_path / "n.db")
    with engine.begin() as conn:                       # and the next writer is let in
        conn.exec_driver_sql("INSERT INTO t VALUES (3)")
    engine.dispose()
