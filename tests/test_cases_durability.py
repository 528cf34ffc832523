"""Concurrency and crashes: one case per idempotency key; a killed process leaves whole cases."""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from bot.cases.models import CaseRow, EventRow, OutboxRow
from tests.conftest import ROOT, make_container


def _open_with_key(url: str, var: str, key: str, barrier, results) -> None:
    from bot.cases import OpenCase
    from bot.container import Container
    from bot.settings import Settings

    container = Container(Settings.from_env({"DATABASE_URL": url, "BOT_VAR_DIR": var,
                                             "BOT_DATA_DIR": str(ROOT / "data")}))
    barrier.wait()
    view = container.cases.open_case(OpenCase(text="同一条消息被重复提交", category="env.noise",
                                              area="S1P1", idempotency_key=key))
    results.put(view.number)


def test_concurrent_idempotent_opens_yield_one_case(container, database_url, tmp_path):
    ctx = mp.get_context("spawn")
    workers = 6
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    procs = [ctx.Process(target=_open_with_key,
                         args=(database_url, str(tmp_path / "var"), "webchat:abc:1", barrier, results))
             for _ in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    numbers = {results.get(timeout=5) for _ in range(workers)}
    assert len(numbers) == 1
    with container.cases._sessions() as s:
        assert s.scalar(select(func.count()).select_from(CaseRow)) == 1
        assert s.scalar(select(func.count()).select_from(EventRow)) == 2


OPENER = """
import sys
from bot.cases import OpenCase
from bot.container import Container
from bot.settings import Settings
c = Container(Settings.from_env({"DATABASE_URL": sys.argv[1], "BOT_VAR_DIR": sys.argv[2],
                                  "BOT_DATA_DIR": sys.argv[3]}))
i = 0
while True:
    c.cases.open_case(OpenCase(text=f"第{i}件：路灯坏了", category="urban.municipal_facility",
                               area="S2P1G1", contact="13900001111"))
    i += 1
    if i == 20:
        print("running", flush=True)
"""


@pytest.mark.slow
def test_sigkill_while_opening_leaves_only_whole_cases(container, database_url, tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", OPENER, database_url, str(tmp_path / "var"),
                             str(ROOT / "data")], stdout=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout.readline().strip() == b"running"
    time.sleep(0.7)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    service = container.cases
    with service._sessions() as s:
        cases = s.scalars(select(CaseRow)).all()
        assert len(cases) >= 20
        for case in cases:
            actions = s.scalars(select(EventRow.action).where(EventRow.case_id == case.id)
                                .order_by(EventRow.seq)).all()
            assert actions == ["open", "assign"], case.number
            assert s.scalar(select(func.count()).select_from(OutboxRow)
                            .where(OutboxRow.case_id == case.id)) == 2
        orphans = s.scalar(select(func.count()).select_from(EventRow)
                           .where(~EventRow.case_id.in_(select(CaseRow.id))))
        assert orphans == 0
    # numbering went on without a gap that a new open would collide with
    from bot.cases.service import utcnow
    from tests.helpers import open_case

    service.clock = utcnow  # the same day as the killed process
    number = open_case(service)
    assert number not in {c.number for c in cases}


def _open_several(url: str, var: str, worker: int, count: int, barrier, results) -> None:
    from bot.cases import OpenCase
    from bot.container import Container
    from bot.settings import Settings

    container = Container(Settings.from_env({"DATABASE_URL": url, "BOT_VAR_DIR": var,
                                             "BOT_DATA_DIR": str(ROOT / "data")}))
    barrier.wait()
    for i in range(count):
        results.put((worker, container.cases.open_case(OpenCase(
            text=f"井盖丢了{worker}-{i}", category="urban.municipal_facility")).number))


def test_concurrent_openers_get_distinct_increasing_numbers(container, database_url, tmp_path):
    ctx = mp.get_context("spawn")
    workers, each = 4, 10
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    procs = [ctx.Process(target=_open_several,
                         args=(database_url, str(tmp_path / "var"), w, each, barrier, results))
             for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    issued = [results.get(timeout=5) for _ in range(workers * each)]
    numbers = [number for _, number in issued]
    assert len(set(numbers)) == workers * each
    with container.cases._sessions() as s:
        stored = s.scalars(select(CaseRow.number).order_by(CaseRow.id)).all()
    assert sorted(stored) == sorted(numbers)
    # each opener sees its numbers increase
    for w in range(workers):
        mine = [int(n.rsplit("-", 1)[1]) for worker, n in issued if worker == w]
        assert mine == sorted(mine)
