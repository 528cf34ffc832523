"""case_attachments on SQLite and PostgreSQL: which case a file goes on, holding, once per
file, size limit, passive media types and clean file names."""
from __future__ import annotations

import pytest

from bot.cases.attachments import AttachmentTooBig, CaseAttachments, safe_file_name, safe_mime
from tests.helpers import open_case

ADDRESS = "10001"      # tests.helpers.open_case's Telegram chat


@pytest.fixture
def files(container):
    return CaseAttachments(container.engine, clock=container.cases.clock, max_bytes=1000)


def _keep(files, content=b"\xff\xd8 photo", address=ADDRESS, **kw):
    return files.file("telegram", address, kind=kw.pop("kind", "photo"), content=content,
                      mime_type=kw.pop("mime_type", "image/jpeg"), **kw)


def test_goes_on_the_latest_open_case_of_the_conversation(service, files):
    older = open_case(service)
    newer = open_case(service)
    finished = open_case(service)
    service.act(finished, "withdraw", text="不需要了")
    kept = _keep(files, source_id="U1")
    assert kept.case_number == newer
    assert [a.id for a in files.list(newer)] == [kept.id] and files.list(older) == []
    meta, content = files.get(kept.id)
    assert content == b"\xff\xd8 photo" and meta.to_dict()["kind_label"] == "照片"
    assert meta.to_dict()["at"].endswith("Z")


def test_held_without_an_open_case_then_attached(service, files):
    kept = _keep(files, address="20002", source_id="U2")
    assert kept.case_number is None and files.get(kept.id) is None    # not downloadable yet
    assert files.holding("telegram") == {"20002"}
    assert files.attach_held("telegram", "20002") is None             # still no case
    number = open_case(service, address="20002")
    assert files.attach_held("telegram", "20002") == (number, 1)
    assert files.holding("telegram") == set()
    assert files.attach_held("telegram", "20002") is None
    assert [a.id for a in files.list(number)] == [kept.id]


def test_the_same_file_is_kept_once(service, files):
    number = open_case(service)
    first = _keep(files, source_id="U3")
    again = _keep(files, source_id="U3")
    assert again.id == first.id and len(files.list(number)) == 1


def test_too_big_is_refused(service, files):
    open_case(service)
    with pytest.raises(AttachmentTooBig):
        _keep(files, content=b"x" * 1001)


@pytest.mark.parametrize("given,kept", [
    ("image/jpeg", "image/jpeg"), ("Application/PDF", "application/pdf"),
    ("text/html", "application/octet-stream"), ("image/svg+xml", "application/octet-stream"),
    ("application/javascript", "application/octet-stream"), ("", "application/octet-stream"),
    (None, "application/octet-stream"), ("image/png\r\nX-Evil: 1", "application/octet-stream"),
])
def test_media_types_are_passive(given, kept):
    assert safe_mime(given) == kept


@pytest.mark.parametrize("given,kept", [
    ("证明.pdf", "证明.pdf"), ("../../etc/passwd", "passwd"), ("C:\\x\\照片.jpg", "照片.jpg"),
    ("a\x00b\u202e.pdf", "ab.pdf"), ("...", None), (None, None), ("长" * 300, "长" * 200),
])
def test_file_names_are_cleaned(given, kept):
    assert safe_file_name(given) == kept
