"""Files a resident sent (Telegram photos and documents), kept on their case in the
`case_attachments` table so that every process (the Telegram adapter, the console) sees them.

Which case: the resident's latest open case in that conversation (channel + address, as the
case was opened). A file sent before the conversation has an open case is *held* (no case
number) and attached to the first case opened there: the door calls `attach_held` after each
turn with the dialogue, which is where a case gets opened. A file is stored once per
conversation (`source_id`, Telegram's file_unique_id): a retried update does not double it.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Engine

from bot.cases.lifecycle import OPEN_STATES
from bot.cases.models import CaseRow
from bot.cases.service import utcnow
from bot.cases.views import iso
from bot.staff.models import case_attachments as t

MB = 1024 * 1024
MAX_BYTES = 10 * MB
KIND_LABELS = {"photo": "照片", "document": "文件", "voice": "语音", "video": "视频"}
_MIME = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,60}/[a-z0-9][a-z0-9!#$&^_.+-]{0,60}")
# Types a browser would run or render as a page: always downloaded as plain bytes.
_ACTIVE = re.compile(r"(html|xml|svg|javascript|ecmascript|x-sh|x-msdownload)")
_CASES = CaseRow.__table__


class AttachmentTooBig(ValueError):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"attachment of {size} bytes exceeds {limit}")
        self.size, self.limit = size, limit


@dataclass(frozen=True)
class Attachment:
    id: int
    case_number: str | None
    at: datetime
    channel: str
    kind: str
    mime_type: str
    file_name: str | None
    size: int

    def to_dict(self) -> dict:
        return {"id": self.id, "case_number": self.case_number, "at": iso(self.at),
                "channel": self.channel, "kind": self.kind,
                "kind_label": KIND_LABELS.get(self.kind, "文件"), "mime_type": self.mime_type,
                "file_name": self.file_name, "size": self.size}


def safe_mime(value: str | None) -> str:
    """A well-formed, passive media type; anything else is application/octet-stream."""
    mime = (value or "").strip().lower()
    if not _MIME.fullmatch(mime) or _ACTIVE.search(mime):
        return "application/octet-stream"
    return mime


def safe_file_name(value: str | None) -> str | None:
    """The last path part, without control characters, at most 200 characters."""
    if not value:
        return None
    name = re.split(r"[\\/]", value)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    return name[-200:] or None


_COLUMNS = (t.c.id, t.c.case_number, t.c.at, t.c.channel, t.c.kind, t.c.mime_type,
            t.c.file_name, t.c.size)


class CaseAttachments:
    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = utcnow,
                 max_bytes: int = MAX_BYTES) -> None:
        self.engine, self.clock, self.max_bytes = engine, clock, max_bytes

    # ------------------------------------------------------------------ writing
    def file(self, channel: str, address: str, *, kind: str, content: bytes,
             mime_type: str | None, file_name: str | None = None,
             source_id: str | None = None) -> Attachment:
        """Keep a file from a conversation: on its latest open case, else held."""
        if len(content) > self.max_bytes:
            raise AttachmentTooBig(len(content), self.max_bytes)
        with self.engine.begin() as conn:
            if source_id:
                row = conn.execute(select(*_COLUMNS).where(
                    t.c.channel == channel, t.c.address == address,
                    t.c.source_id == source_id)).first()
                if row is not None:
                    return Attachment(*row)
            number = self._open_case(conn, channel, address)
            values = dict(case_number=number, at=self.clock(), channel=channel, address=address,
                          kind=kind if kind in KIND_LABELS else "document",
                          mime_type=safe_mime(mime_type), file_name=safe_file_name(file_name),
                          size=len(content), content=content, source_id=source_id)
            new_id = conn.execute(insert(t).returning(t.c.id), values).scalar_one()
        return Attachment(new_id, number, values["at"], channel, values["kind"],
                          values["mime_type"], values["file_name"], values["size"])

    def attach_held(self, channel: str, address: str) -> tuple[str, int] | None:
        """Give the conversation's held files to its open case: (case number, how many), or
        None when nothing is held or no case is open yet."""
        with self.engine.begin() as conn:
            held = t.c.case_number.is_(None) & (t.c.channel == channel) & (t.c.address == address)
            count = conn.scalar(select(func.count()).select_from(t).where(held))
            if not count:
                return None
            number = self._open_case(conn, channel, address)
            if number is None:
                return None
            conn.execute(update(t).where(held).values(case_number=number))
        return number, count

    def holding(self, channel: str) -> set[str]:
        """The addresses of `channel` that have files waiting for a case."""
        with self.engine.connect() as conn:
            return set(conn.scalars(select(t.c.address).distinct().where(
                t.c.case_number.is_(None), t.c.channel == channel)))

    @staticmethod
    def _open_case(conn, channel: str, address: str) -> str | None:
        return conn.scalar(select(_CASES.c.number).where(
            _CASES.c.channel == channel, _CASES.c.address == address,
            _CASES.c.state.in_([s.value for s in OPEN_STATES]))
            .order_by(_CASES.c.id.desc()).limit(1))

    # ------------------------------------------------------------------ reading
    def list(self, case_number: str) -> list[Attachment]:
        """The case's files, oldest first (no content)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(*_COLUMNS).where(t.c.case_number == case_number)
                                .order_by(t.c.id)).all()
        return [Attachment(*row) for row in rows]

    def get(self, attachment_id: int) -> tuple[Attachment, bytes] | None:
        """One file with its content; None when unknown or still held."""
        with self.engine.connect() as conn:
            row = conn.execute(select(*_COLUMNS, t.c.content).where(
                t.c.id == attachment_id, t.c.case_number.is_not(None))).first()
        if row is None:
            return None
        return Attachment(*row[:-1]), bytes(row[-1])
