"""Photos and documents from residents, saved under var/attachments/telegram/<chat>/."""
from __future__ import annotations

import mimetypes
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from telegram import Bot, Message
from telegram.error import TelegramError

MB = 1024 * 1024


class TooBig(Exception):
    pass


class DownloadFailed(Exception):
    pass


@dataclass(frozen=True)
class Attachment:
    kind: str                 # photo | document
    path: str                 # absolute path of the saved file
    size: int
    mime_type: str | None
    file_name: str | None
    telegram_file_unique_id: str

    def to_metadata(self) -> dict:
        return asdict(self)


def _suffix(file_name: str | None, mime_type: str | None, default: str) -> str:
    suffix = Path(file_name or "").suffix.lower()
    if not re.fullmatch(r"\.[a-z0-9]{1,8}", suffix or ""):
        suffix = (mimetypes.guess_extension(mime_type or "") or default)
    return suffix


def describe(message: Message) -> tuple[str, str, int | None, str | None, str | None, str]:
    """(kind, file_id, declared size, mime type, file name, unique id) of the biggest file."""
    if message.photo:
        photo = message.photo[-1]
        return "photo", photo.file_id, photo.file_size, "image/jpeg", None, photo.file_unique_id
    doc = message.document
    return ("document", doc.file_id, doc.file_size, doc.mime_type, doc.file_name,
            doc.file_unique_id)


async def save_attachment(bot: Bot, message: Message, update_id: int, root: Path,
                          limit: int) -> Attachment:
    """Download the message's photo or document; raises TooBig or DownloadFailed."""
    kind, file_id, declared, mime, name, unique = describe(message)
    if declared and declared > limit:
        raise TooBig(declared)
    try:
        remote = await bot.get_file(file_id)
    except TelegramError as exc:
        if "too big" in str(exc).lower():
            raise TooBig(declared or 0) from exc
        raise DownloadFailed(str(exc)) from exc
    if remote.file_size and remote.file_size > limit:
        raise TooBig(remote.file_size)
    folder = root / "telegram" / str(message.chat_id)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{update_id}-{unique}{_suffix(name, mime, '.jpg' if kind == 'photo' else '.bin')}"
    partial = target.with_name(target.name + ".part")
    try:
        await remote.download_to_drive(partial)
    except (TelegramError, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise DownloadFailed(str(exc)) from exc
    size = partial.stat().st_size
    if size > limit:
        partial.unlink(missing_ok=True)
        raise TooBig(size)
    partial.replace(target)
    return Attachment(kind=kind, path=str(target.resolve()), size=size, mime_type=mime,
                      file_name=name, telegram_file_unique_id=unique)
