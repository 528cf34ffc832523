"""Engines and sessions: built here and only here, never at import time."""
from __future__ import annotations

import os
import re
import threading
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from bot.cases.errors import InvalidInput

# How long a SQLite connection waits for another process's lock. The web app and its loops
# may wait; a command typed by a person gives up sooner (see `bot.cli`).
BUSY_TIMEOUT = 30.0
READ_ONLY = "jj_read_only"      # execution option of engines whose transactions only read


def make_engine(url: str, *, busy_timeout: float = BUSY_TIMEOUT, **kwargs) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InvalidInput(f"bad DATABASE_URL: {url!r}", f"数据库地址 DATABASE_URL 无法识别：{url}") from exc
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, busy_timeout, **kwargs)
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return _postgres_engine(parsed, **kwargs)
    raise InvalidInput(f"unsupported database {parsed.get_backend_name()}",
                       f"不支持的数据库类型：{parsed.get_backend_name()}（请用 SQLite 或 PostgreSQL）")


def _postgres_engine(url, **kwargs) -> Engine:
    engine = create_engine(url, pool_pre_ping=True, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # The app's queries are short. PostgreSQL's JIT (on by default) compiles any plan whose
        # cost estimate passes jit_above_cost, and a console count over 100,000 cases with a
        # text search spent 415 ms of its 590 compiling. A session setting, so poolers pass it.
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET jit = off")
        dbapi_connection.commit()

    return engine


MMAP_BYTES = 256 * 1024 * 1024


class WriterLock:
    """One process's SQLite writers to one file, queued on a Python lock before `BEGIN
    IMMEDIATE`: SQLite's busy handler polls (sleeps of 1, 2, 5 … 100 ms) instead of waking when
    the write lock frees, so writers queued there sleep past it. Taken by the transaction's
    BEGIN, given back once its COMMIT or ROLLBACK has run (or its connection is closed). Other
    processes still meet SQLite's lock and its busy handler, as before. A thread that already
    holds it (a second connection opened inside a write) and a wait longer than the busy
    timeout go on to BEGIN IMMEDIATE without it: no new deadlock, SQLite decides as before
    (after at most twice the busy timeout in all)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._guard = threading.Lock()     # a release from a pool finalizer may race the owner's
        self._holder = None                # the DBAPI connection whose transaction holds it
        self._thread: int | None = None

    def acquire(self, dbapi_connection, timeout: float) -> None:
        if self._thread == threading.get_ident():
            return
        if self._lock.acquire(timeout=max(timeout, 0.0)):
            self._holder, self._thread = dbapi_connection, threading.get_ident()

    def release(self, dbapi_connection) -> None:
        with self._guard:
            if self._holder is None or self._holder is not dbapi_connection:
                return
            self._holder = self._thread = None
            self._lock.release()

    def _reset(self) -> None:
        self.__init__()


_WRITER_LOCKS: dict[str, WriterLock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()
# a forked child starts with no writer of its own (a parent's thread may have held the lock)
os.register_at_fork(after_in_child=lambda: [lock._reset() for lock in _WRITER_LOCKS.values()])


def writer_lock(database: str) -> WriterLock:
    """The process's writer lock of a SQLite file (one for every engine on that file)."""
    path = os.path.realpath(database)
    with _WRITER_LOCKS_GUARD:
        return _WRITER_LOCKS.setdefault(path, WriterLock())


def _raw(connection):
    """The DBAPI connection under a pool's proxy (what `do_commit` and pool events get)."""
    return getattr(connection, "dbapi_connection", connection)


def _sqlite_engine(url, busy_timeout: float, **kwargs) -> Engine:
    on_file = bool(url.database) and url.database != ":memory:" and not url.database.startswith("file:")
    if on_file:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    writers = writer_lock(url.database) if on_file else None
    engine = create_engine(url, connect_args={"timeout": busy_timeout, "check_same_thread": False}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy issue BEGIN itself (below) so writers take the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        # Reads straight from the OS page cache instead of copying every page through a read()
        # call: a year's figures over 100,000 cases take about 30% less CPU.
        cursor.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # IMMEDIATE: no two writers both read and then fail to upgrade their lock. Sessions of
        # `make_read_session_factory` only read: DEFERRED, so WAL readers never wait for writers.
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN DEFERRED")
            return
        if writers is None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            return
        raw = _raw(connection.connection)
        writers.acquire(raw, busy_timeout)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            writers.release(raw)
            raise

    if writers is not None:
        _queue_writers(engine, writers)
    return engine


def _queue_writers(engine: Engine, writers: WriterLock) -> None:
    """Give the writer lock back after the transaction's end has run on the connection."""
    dialect = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(connection) -> None:
        try:
            commit(connection)
        finally:
            writers.release(_raw(connection))

    def do_rollback(connection) -> None:
        try:
            rollback(connection)
        finally:
            writers.release(_raw(connection))

    # the engine's own dialect instance; SQLAlchemy has no event after COMMIT (its `commit`
    # event runs before it, and a writer let in then would meet SQLite's busy handler)
    dialect.do_commit, dialect.do_rollback = do_commit, do_rollback
    for name in ("close", "close_detached", "invalidate"):
        event.listen(engine, name, lambda dbapi_connection, *_: writers.release(dbapi_connection))


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def make_read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that only read (the console's queues): on SQLite they take no write lock."""
    return sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)


# What the drivers say, in words a person can act on: (text the driver uses, zh, en).
_REASONS = (
    ("file is not a database", "数据库文件已损坏，或者这不是一个数据库文件",
     "the file is not a database or is damaged"),
    ("database disk image is malformed", "数据库文件已损坏", "the database file is damaged"),
    ("database is locked", "数据库正被其他程序占用，请稍后再试", "database is locked"),
    ("unable to open database file", "无法打开数据库文件，请检查路径和权限",
     "unable to open the database file"),
    ("readonly database", "数据库是只读的，无法写入", "the database is read-only"),
    ("disk i/o error", "读写数据库文件时出错（磁盘错误）", "disk I/O error"),
    ("database or disk is full", "磁盘已满，无法写入数据库", "the disk is full"),
    ("no such table", "数据库还没有建表，请先执行 bot db upgrade", "schema missing: run bot db upgrade"),
    ("connection refused", "无法连接数据库服务器", "cannot connect to the database server"),
    ("could not translate host name", "找不到数据库服务器的地址", "unknown database host"),
    ("password authentication failed", "数据库用户名或密码不对", "database authentication failed"),
    ("timeout expired", "连接数据库超时", "database connection timed out"),
)
_DRIVER_PREFIX = re.compile(r"^\s*\([\w.]+\)\s*")


def describe_error(exc: BaseException) -> tuple[str, str]:
    """(zh, en) reason for a database failure, without the driver's class names or SQL text."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc)
    lowered = text.casefold()
    for needle, zh, en in _REASONS:
        if needle in lowered:
            return zh, en
    first = _DRIVER_PREFIX.sub("", text.split("[SQL:")[0].strip().splitlines()[0] if text.strip() else "")
    return "请检查 DATABASE_URL，或先执行 bot db upgrade", (first[:160] or type(exc).__name__)
