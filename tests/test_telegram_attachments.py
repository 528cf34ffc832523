"""Telegram photos and documents kept on the resident's case: the real adapter downloads them
from the fake Bot API (getFile + GET /file/bot<token>/<path>) and stores them in
case_attachments, on the chat's open case or held until the dialogue opens one."""
from __future__ import annotations

import pytest

from bot.cases import OpenCase
from bot.cases.attachments import CaseAttachments
from bot.channels.telegram import filing, texts
from tests.fakes.rasa_rest import echo
from tests.fakes.telegram_harness import LiveAdapter
from tests.test_telegram_adapter import container, rasa, tg  # noqa: F401 - the same fixtures

CHAT = 5151
JPEG = b"\xff\xd8\xff\xe0" + b"p" * 3000


@pytest.fixture
def live(container):
    with LiveAdapter(container, mode="polling") as adapter:
        yield adapter


def _open(container, chat=CHAT) -> str:
    return container.cases.open_case(OpenCase(
        text="文化路28号楼道里的垃圾堆了一周没人清理", category="urban.sanitation", area="S1P1G1",
        channel="telegram", address=str(chat))).number


def _files(container, number):
    return CaseAttachments(container.engine).list(number)


def test_photo_goes_on_the_open_case_and_the_resident_is_told(live, tg, rasa, container):
    number = _open(container)
    tg.photo(CHAT, JPEG)
    [said] = tg.wait_for_texts(CHAT, 1)
    assert said == filing.ATTACHED.format(what="照片", number=number)
    assert tg.calls("getFile"), "downloaded through getFile and the file URL"
    [kept] = _files(container, number)
    assert (kept.kind, kept.mime_type, kept.size, kept.channel) == ("photo", "image/jpeg", len(JPEG), "telegram")
    meta, content = CaseAttachments(container.engine).get(kept.id)
    assert content == JPEG and meta.case_number == number
    live.idle()
    assert rasa.received() == [], "a bare photo on a case needs no dialogue turn"


def test_document_with_caption_is_kept_and_its_words_reach_the_dialogue(live, tg, rasa, container):
    number = _open(container)
    tg.document(CHAT, b"%PDF-1.4 " + b"d" * 400, file_name="../../物业通知.pdf",
                caption="这是物业贴的通知")
    texts_seen = tg.wait_for_texts(CHAT, 2)
    assert texts_seen[0] == filing.ATTACHED.format(what="文件", number=number)
    [kept] = _files(container, number)
    assert kept.file_name == "物业通知.pdf" and kept.mime_type == "application/pdf"
    [request] = rasa.received()
    assert request["message"] == "这是物业贴的通知"
    assert request["metadata"]["attachments"][0]["file_name"] == "../../物业通知.pdf"


def test_a_file_before_any_case_is_held_then_attached_when_the_dialogue_opens_one(
        tg, rasa, container):
    opened: list[str] = []

    def dialogue(body):
        if body["message"] == "是的，请登记":          # the action server opens the case
            opened.append(_open(container))
            return [{"text": f"已为您登记，编号 {opened[0]}"}]
        return echo(body)

    rasa.reply = dialogue
    with LiveAdapter(container, mode="polling"):
        tg.photo(CHAT, JPEG, caption="楼道垃圾堆了一周")
        first = tg.wait_for_texts(CHAT, 2)
        assert first == [filing.HELD.format(what="照片"), "收到：楼道垃圾堆了一周"]
        tg.message(CHAT, "是的，请登记")
        said = tg.wait_for_texts(CHAT, 4)
    assert said[2] == f"已为您登记，编号 {opened[0]}"
    assert said[3] == filing.HELD_ATTACHED.format(count=1, number=opened[0])
    [kept] = _files(container, opened[0])
    assert kept.size == len(JPEG)


def test_held_files_survive_a_restart(tg, rasa, container):
    with LiveAdapter(container, mode="polling") as first:
        tg.document(CHAT, b"%PDF-1.4 held", file_name="材料.pdf")
        tg.wait_for_texts(CHAT, 2)
        first.idle()
    number = _open(container)
    with LiveAdapter(container, mode="polling"):
        tg.message(CHAT, "请问进展如何")
        said = tg.wait_for_texts(CHAT, 4)
    assert said[-1] == filing.HELD_ATTACHED.format(count=1, number=number)
    assert [f.file_name for f in _files(container, number)] == ["材料.pdf"]


def test_too_big_is_refused_politely_and_nothing_is_kept(live, tg, rasa, container):
    number = _open(container)
    tg.document(CHAT, b"small", declared_size=11 * 1024 * 1024)
    assert tg.wait_for_texts(CHAT, 1) == [texts.TOO_BIG.format(limit_mb=10)]
    assert _files(container, number) == [] and tg.calls("getFile") == []


def test_a_retried_update_keeps_the_file_once(tg, rasa, container):
    number = _open(container)
    rasa.down = True
    with LiveAdapter(container, mode="polling") as live:
        tg.photo(CHAT, JPEG, caption="补充一张照片")
        tg.wait_for(lambda f: len(f.calls("getFile")) >= 2, timeout=15)   # handled twice
        rasa.down = False
        tg.wait_for(lambda f: any(t.startswith("收到：") for t in f.texts(CHAT)), timeout=15)
        live.idle()
    assert len(_files(container, number)) == 1
    assert tg.texts(CHAT).count(filing.ATTACHED.format(what="照片", number=number)) == 1


def test_a_case_of_another_chat_is_never_used(live, tg, rasa, container):
    other = _open(container, chat=9999)
    tg.photo(CHAT, JPEG)
    assert tg.wait_for_texts(CHAT, 1)[0] == filing.HELD.format(what="照片")
    assert _files(container, other) == []
