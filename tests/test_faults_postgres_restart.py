"""PostgreSQL restarted while cases are being opened (issue 12, part 4).

A private, throw-away cluster (initdb / pg_ctl from Debian's postgresql package) on a free
loopback port, never the machine's own server. Four openers share one case service, as the
action server's threads do, and open 40 cases with idempotency keys (the action's key is the
report's); PostgreSQL is restarted twice meanwhile. A failed open is tried again with the same
key, as a resident confirming again after the polite "could not register" reply. Every key has
exactly one case, with its two events."""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cases import OpenCase
from bot.cases.models import CaseRow, EventRow
from tests.conftest import CI, make_container
from tests.faults import report
from tests.web_support import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CASES, OPENERS, RESTARTS = 40, 4, 2


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1].parent if found else None


class PrivatePostgres:
    def __init__(self) -> None:
        bin_dir = _pg_bin()
        as_root = os.geteuid() == 0
        if bin_dir is None or (as_root and shutil.which("runuser") is None):
            reason = "initdb/pg_ctl missing: apt-get install postgresql (Debian's package)"
            if CI:
                pytest.fail(reason)
            pytest.skip(reason)
        self.bin = bin_dir
        self.prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
        self.root = Path(tempfile.mkdtemp(prefix="jj-pg-"))
        if as_root:                # initdb refuses root: the cluster belongs to `postgres`
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str) -> None:
        done = subprocess.run([*self.prefix, *argv], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr

    def init(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c full_page_writes=off")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-w",
                  "-l", str(self.root / "log"), "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_postgres():
    server = PrivatePostgres()
    try:
        server.init()
        server.start()
        yield server
        server.stop("immediate")
    finally:
        server.remove()


def test_postgres_restarted_twice_while_cases_open_each_key_one_case(private_postgres, tmp_path):
    started = time.monotonic()
    container = make_container(private_postgres.url, tmp_path)
    opened: dict[str, set[str]] = {}
    failures: Counter = Counter()
    lock = threading.Lock()

    def opener(worker: int) -> None:
        for n in range(worker, CASES, OPENERS):
            key = f"fault-pg:{n}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    view = container.cases.open_case(OpenCase(
                        text=f"第{n}件：小区路灯坏了一排", category="urban.municipal_facility",
                        area="S1P1G1", idempotency_key=key))
                    break
                except Exception as exc:  # noqa: BLE001 - the database is restarting
                    assert time.monotonic() < deadline, f"{key}: {exc}"
                    with lock:
                        failures[type(exc).__name__] += 1
                    time.sleep(0.2)
            with lock:
                opened.setdefault(key, set()).add(view.number)

    try:
        with ThreadPoolExecutor(OPENERS) as pool:
            running = [pool.submit(opener, w) for w in range(OPENERS)]
            during = []
            for n in range(RESTARTS):
                deadline, due = time.monotonic() + 60, (n + 1) * CASES // (RESTARTS + 2)
                while len(opened) < due and time.monotonic() < deadline:
                    time.sleep(0.02)
                private_postgres.stop("fast")
                time.sleep(0.5)
                private_postgres.start()
                during.append(len(opened))
            for future in running:
                future.result(timeout=90)
        with container.cases._sessions() as s:
            cases = s.scalar(select(func.count()).select_from(CaseRow))
            events = s.scalar(select(func.count()).select_from(EventRow))
    finally:
        container.engine.dispose()
    assert during[-1] < CASES, during                 # the restarts fell among the openings
    lost = sum(1 for n in range(CASES) if f"fault-pg:{n}" not in opened)
    duplicated = sum(len(numbers) - 1 for numbers in opened.values()) + max(cases - CASES, 0)
    report("PostgreSQL restarted during case opening", lost, duplicated, cases=cases,
           failed_tries=dict(failures), opened_at_restarts=during,
           took_s=round(time.monotonic() - started))
    assert cases == CASES and events == 2 * CASES
