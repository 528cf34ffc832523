"""The web app SIGKILLed while it relays a resident's message to Rasa (issue 12, part 4).

`bot run` with the trained model. Rasa is paused (SIGSTOP) so that the app is surely in the
middle of relaying the message when it is SIGKILLed; then Rasa goes on and the supervisor
restarts the app. The resident's request fails (the page says the network is unsteady), but
the message is not lost: its answer reaches the resident's inbox, the conversation goes on to
its case, and every message is in Rasa's tracker exactly once."""
from __future__ import annotations

import os
import signal
import threading
import time

import httpx
import pytest

from bot.run import model_path
from tests.faults import lost_and_duplicated, report
from tests.test_faults_actions_down import _inbox_until, _sessions
from tests.test_run_faults import children_of, cmdline
from tests.test_run_replicas import CONVERSATION, _cases, _say
from tests.web_support import product

pytestmark = [pytest.mark.rasa, pytest.mark.slow]


def _group(bot: int, needle: str) -> int:
    (leader,) = [c for c in children_of(bot) if needle in cmdline(c)]
    return leader


def test_app_killed_while_it_relays_the_message_is_answered_later_once(tmp_path):
    if not model_path().is_file():
        pytest.skip(f"no trained model at {model_path()}: run `make model`")
    started = time.monotonic()
    # the gateway's timeout (and with it the lease of a relayed message) short for the test
    with product(tmp_path, extra_env={"WEBCHAT_RASA_TIMEOUT": "5"}) as (base, env, output, state):
        bot = state["proc"].pid
        livez = f"{base}/livez"
        with httpx.Client(base_url=base, timeout=60) as client:
            client.get("/api/chat/session")
            assert _say(client, CONVERSATION[0])
            rasa, app = _group(bot, "rasa run"), _group(bot, "bot.web.serve")
            failed: list[BaseException] = []

            def relay() -> None:
                try:
                    client.post("/api/chat/message", json={"text": CONVERSATION[1]})
                except httpx.HTTPError as exc:
                    failed.append(exc)

            os.killpg(rasa, signal.SIGSTOP)
            try:
                sending = threading.Thread(target=relay)
                sending.start()
                time.sleep(1.5)            # the app has sent it on and waits for Rasa's answer
                os.killpg(app, signal.SIGKILL)
                sending.join(30)
            finally:
                os.killpg(rasa, signal.SIGCONT)
            assert failed, "the request was answered although its app was killed"
            deadline = time.monotonic() + 60
            while True:                    # the supervisor restarts the app
                try:
                    if _group(bot, "bot.web.serve") != app and httpx.get(livez).status_code == 200:
                        break
                except (httpx.HTTPError, ValueError):
                    pass
                assert time.monotonic() < deadline, "".join(output)
                time.sleep(0.3)
            late = _inbox_until(client, lambda got: bool(got), 60)
            assert len(late) == 1 and all(late[0]), late     # the answer, once
            answers = [_say(client, words) for words in CONVERSATION[2:]]
            assert any("编号" in t for t in answers[-1]), answers
        cases = _cases(env["DATABASE_URL"])
        (session,) = _sessions(env["DATABASE_URL"])
        events = httpx.get(f"{env['RASA_URL']}/conversations/webchat:{session}/tracker",
                           timeout=30).json()["events"]
    said = [e.get("text") for e in events if e.get("event") == "user"]
    lost, duplicated = lost_and_duplicated(CONVERSATION, said)
    report("app killed while relaying", lost, duplicated + max(len(cases) - 1, 0),
           cases=len(cases), took_s=round(time.monotonic() - started))
    assert said == CONVERSATION and len(cases) == 1
