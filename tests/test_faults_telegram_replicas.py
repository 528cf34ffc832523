"""Two Telegram adapter replicas sharing one PostgreSQL store (issue 12, part 4).

Telegram redelivers an update it thinks failed, and behind a balancer each delivery may reach
another replica. The same update delivered three times, to both replicas at once, is handled
once: one turn of the dialogue, one case, one reply. Two messages of one chat that reach
different replicas are handled once each, in order. The dialogue is a stand-in that answers
slowly and opens a case (without an idempotency key, so a second turn would show)."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from bot.cases import OpenCase
from bot.cases.models import CaseRow
from bot.channels.telegram.store import UpdateStore
from bot.container import Container
from tests.conftest import drop_postgres_database, new_postgres_database
from tests.faults import lost_and_duplicated, report
from tests.fakes.rasa_rest import FakeRasa
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_harness import LiveAdapter, make_settings
from tests.test_telegram_adapter import tg  # noqa: F401 - the fake Bot API fixture

pytestmark = [pytest.mark.postgres]

CHAT = 7700042


@pytest.fixture
def shared_url(postgres_server):
    url = new_postgres_database(postgres_server)
    yield url
    drop_postgres_database(postgres_server, url)


@pytest.fixture
def replicas(tmp_path, tg, shared_url):
    """(replica A, replica B, the stand-in dialogue, a container on the shared store)."""
    made: list[Container] = []

    def container(name: str, rasa_url: str) -> Container:
        c = Container(make_settings(tmp_path / name, tg.base_url, tg.token, rasa_url,
                                    DATABASE_URL=shared_url))
        made.append(c)
        return c

    with FakeRasa(delay=0.8) as rasa:
        first = container("a", rasa.url)
        first.upgrade()

        def dialogue(body: dict) -> list[dict]:
            view = first.cases.open_case(OpenCase(
                text=body["message"], category="urban.municipal_facility", area="S1P1G1",
                channel="telegram", address=str(CHAT)))
            return [{"text": f"已为您登记，编号 {view.number}"}]

        rasa.reply = dialogue
        # A turn that outlasts the gateway's timeout is retried, a second turn by design:
        # not the fault under test, so the timeout is generous (the first case is slow).
        config = dict(mode="webhook", sweep_interval=0.1, gateway_timeout=60)
        second = container("b", rasa.url)
        with LiveAdapter(first, **config) as a, LiveAdapter(second, **config) as b:
            yield a, b, rasa, first
    for c in made:
        c.engine.dispose()


def deliver(live: LiveAdapter, update: dict) -> int:
    return httpx.post(live.webhook_url, json=update, timeout=10,
                      headers={"X-Telegram-Bot-Api-Secret-Token": live.secret}).status_code


def settle(a: LiveAdapter, b: LiveAdapter, tg: FakeTelegram, replies: int) -> None:
    tg.wait_for_texts(CHAT, replies)
    deadline = time.monotonic() + 30
    while UpdateStore(a.container.engine).counts().get("pending"):
        assert time.monotonic() < deadline, UpdateStore(a.container.engine).counts()
        time.sleep(0.1)
    a.idle()
    b.idle()
    time.sleep(1.0)      # several sweeps of both replicas: a second turn would start by now


def cases(container: Container) -> int:
    with container.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(CaseRow))


def test_one_update_delivered_three_times_to_two_replicas_is_one_case(replicas, tg):
    a, b, rasa, container = replicas
    update = tg.message(CHAT, "小区门口的路灯坏了一排，晚上很黑")
    with ThreadPoolExecutor(3) as pool:
        codes = list(pool.map(deliver, [a, b, a], [update] * 3))
    assert codes == [200, 200, 200]
    settle(a, b, tg, 1)
    lost, duplicated = lost_and_duplicated([update["message"]["text"]], rasa.messages())
    report("one Telegram update x3 on two replicas", lost, duplicated, cases=cases(container))
    assert cases(container) == 1 and len(tg.texts(CHAT)) == 1
    assert UpdateStore(container.engine).counts() == {"done": 1}


def test_messages_of_one_chat_on_two_replicas_are_each_handled_once_in_order(replicas, tg):
    a, b, rasa, container = replicas
    said = [f"第{n}条：楼道的灯坏了" for n in range(1, 5)]
    for n, words in enumerate(said):
        assert deliver((a, b)[n % 2], tg.message(CHAT, words)) == 200
    settle(a, b, tg, len(said))
    lost, duplicated = lost_and_duplicated(said, rasa.messages())
    report("one chat's messages across two replicas", lost, duplicated, cases=cases(container))
    assert rasa.messages() == said and cases(container) == len(said)
    assert UpdateStore(container.engine).counts() == {"done": len(said)}
