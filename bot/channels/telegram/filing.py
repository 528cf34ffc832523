"""A resident's Telegram photo or document, kept on their case (bot/cases/attachments.py).

The file goes on the chat's latest open case at once and the resident is told which; with no
open case it is held, the resident is told it will be added once a case is registered, and
after each later turn with the dialogue (where a case gets opened) held files are attached
and the resident is told. Database calls run on the adapter's store thread (`run`).
"""
from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from bot.cases.attachments import KIND_LABELS, CaseAttachments
from bot.channels.telegram import media

log = logging.getLogger(__name__)
CHANNEL = "telegram"

ATTACHED = "收到您发来的{what}，已附在编号 {number} 的诉求里，承办人员办理时可以看到。"
HELD = "收到您发来的{what}。等您的诉求登记好，我们会把它一并附上。"
HELD_ATTACHED = "您之前发来的 {count} 个照片或文件，已附在编号 {number} 的诉求里。"


class CaseFiling:
    def __init__(self, attachments: CaseAttachments) -> None:
        self.attachments = attachments
        self._holding: set[str] = set()      # chats with held files (loaded at start)

    async def load(self, run) -> None:
        self._holding = await run(self.attachments.holding, CHANNEL)

    async def file(self, run, chat_id: int, saved: media.Attachment) -> tuple[str | None, str | None]:
        """Keep the saved file; (case number or None when held, what to tell the resident).
        (None, None) when the database could not take it: logged, the dialogue goes on."""
        try:
            kept = await run(self._keep, str(chat_id), saved)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("telegram: attachment of chat …%s not kept on a case: %s",
                        str(chat_id)[-4:], type(exc).__name__)
            return None, None
        what = KIND_LABELS.get(saved.kind, "文件")
        if kept.case_number is None:
            self._holding.add(str(chat_id))
            return None, HELD.format(what=what)
        return kept.case_number, ATTACHED.format(what=what, number=kept.case_number)

    async def after_turn(self, run, chat_id: int) -> str | None:
        """Attach held files once the chat has an open case; what to tell the resident."""
        address = str(chat_id)
        if address not in self._holding:
            return None
        try:
            done = await run(self.attachments.attach_held, CHANNEL, address)
        except SQLAlchemyError as exc:
            log.warning("telegram: held attachments of chat …%s not attached: %s",
                        address[-4:], type(exc).__name__)
            return None
        if done is None:
            return None
        self._holding.discard(address)
        number, count = done
        return HELD_ATTACHED.format(count=count, number=number)

    def _keep(self, address: str, saved: media.Attachment):
        content = Path(saved.path).read_bytes()
        return self.attachments.file(CHANNEL, address, kind=saved.kind, content=content,
                                     mime_type=saved.mime_type, file_name=saved.file_name,
                                     source_id=saved.telegram_file_unique_id)
