"""The web chat passes a "/…" text to Rasa only when it is a button the bot offered this
session; anything else a resident types reaches the dialogue as words, or gets a polite
reply, and never runs an intent (Rasa reads a leading "/" as one)."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bot.web.payloads import SLASH_REPLY, OfferedButtons
from tests.test_web_api import DESCRIPTION, client, say, stack  # noqa: F401 - fixtures


@pytest.mark.parametrize("text", ["/restart", "/session_start", "  /restart", "/affirm",
                                  '/inform{"phone":"99999999999999999999","place":"../../etc"}',
                                  "/EXTERNAL_case_update", "/ /restart", "/"])
def test_a_typed_command_is_answered_politely_and_not_passed_on(client, stack, text):
    fake = stack[1]
    r = say(client, text)
    assert r.status_code == 200
    assert [m["text"] for m in r.json()["messages"]] == [SLASH_REPLY]
    assert fake.received == []


def test_words_after_a_slash_reach_the_dialogue_without_it(client, stack):
    say(client, "/ 楼下烧烤店太吵了")
    assert [m["message"] for m in stack[1].received] == ["楼下烧烤店太吵了"]


def test_a_button_the_bot_offered_still_works(client, stack):
    buttons = say(client, DESCRIPTION).json()["messages"][0]["buttons"]
    assert "/affirm" in [b["payload"] for b in buttons]
    done = say(client, "/affirm").json()["messages"]
    assert done[0]["custom"]["case"]["number"]
    assert stack[1].received[-1]["message"] == "/affirm"


def test_a_button_offered_to_one_session_is_typing_in_another(client, stack):
    say(client, DESCRIPTION)
    with TestClient(stack[2]) as other:
        r = say(other, "/affirm")
    assert [m["text"] for m in r.json()["messages"]] == [SLASH_REPLY]
    assert [m["message"] for m in stack[1].received] == [DESCRIPTION]
    assert stack[0].cases.list_cases() == []


def test_the_memory_of_offered_buttons_is_bounded():
    offered = OfferedButtons(max_sessions=2, per_session=3)
    for session in ("a", "b", "c"):
        offered.remember(session, [{"text": "x", "buttons": [{"title": "是", "payload": "/affirm"}]}])
    assert not offered.offered("a", "/affirm")           # the oldest session is forgotten
    assert offered.offered("c", " /affirm ")
    offered.remember("c", [{"buttons": [{"payload": f"/p{n}"} for n in range(3)]}])
    assert not offered.offered("c", "/affirm") and offered.offered("c", "/p2")
    offered.remember("c", [{"buttons": [{"payload": None}, "junk", {"title": "no payload"}]}])
    assert offered.offered("c", "/p0")
