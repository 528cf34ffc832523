"""Text a Telegram resident types never reaches Rasa as an intent command, however the slash
is hidden; buttons (callback payloads) still do."""
from __future__ import annotations

import time

from bot.channels.telegram import texts
from bot.channels.typed import resident_words
from tests.test_telegram_adapter import CHAT, container, polling, rasa, tg  # noqa: F401 - fixtures


def test_a_slash_behind_a_blank_and_a_slash_is_not_a_command(polling, tg, rasa):
    # Telegram marks no bot_command here ("/ " is not one); Rasa strips and reads "/restart".
    tg.message(CHAT, " / /restart")
    assert tg.wait_for_texts(CHAT, 1) == [texts.UNKNOWN_COMMAND]
    assert rasa.received() == []


def test_words_after_a_slash_reach_the_dialogue_without_it(polling, tg, rasa):
    tg.message(CHAT, " / 楼道里的灯坏了")
    tg.wait_for_texts(CHAT, 1)
    assert rasa.messages() == ["楼道里的灯坏了"]


def test_a_command_as_a_photo_caption_is_not_passed_on(polling, tg, rasa):
    tg.photo(CHAT, b"\xff\xd8\xff\xe0" + b"x" * 100, caption="/ /restart")
    tg.wait_for_texts(CHAT, 1)
    deadline = time.monotonic() + 10       # the photo's own note may come before the dialogue's turn
    while not rasa.received() and time.monotonic() < deadline:
        time.sleep(0.05)
    [received] = rasa.received()
    assert received["message"] == texts.ATTACHMENT_INTENT


def test_resident_words():
    for command in ("/restart", "  /session_start", '/inform{"phone": "1"}', "/ /restart",
                    "//x.y", "/", "///", "\n/EXTERNAL_case_update\n"):
        assert resident_words(command) is None, command
    assert resident_words("/ 楼下太吵") == "楼下太吵"
    assert resident_words("/楼下太吵") == "楼下太吵"
    assert resident_words("楼下/太吵") == "楼下/太吵"
    assert resident_words("/restart 楼下太吵") == "restart 楼下太吵"
