"""Logging set-up with personal data masked in every line.

Two layers, both using the detectors of `bot.privacy`:
- `install_masking()` wraps the log record factory, so every record created in this process
  (whoever handles it: our stream handler, pytest's capture, a library's handler) already
  carries a masked message and a masked traceback;
- `MaskingFilter` does the same on a handler, for records that reach it from elsewhere.
"""
from __future__ import annotations

import logging

from bot.privacy import mask_text

_FORMATTER = logging.Formatter()


def mask_pii(text: str) -> str:
    return mask_text(text) or text


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Render the message with its arguments, mask it, and mask any traceback text."""
    if getattr(record, "_pii_masked", False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string must not lose the record
        message = f"{record.msg} {record.args}"
    record.msg, record.args = mask_pii(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = _FORMATTER.formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask_pii(record.exc_text)
    if record.stack_info:
        record.stack_info = mask_pii(record.stack_info)
    record._pii_masked = True
    return record


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


def install_masking() -> None:
    """Mask every log record this process creates (idempotent)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "_pii_masking", False):
        return

    def masked_factory(*args, **kwargs) -> logging.LogRecord:
        return mask_record(factory(*args, **kwargs))

    masked_factory._pii_masking = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(masked_factory)


def setup_logging(level: int = logging.INFO) -> None:
    install_masking()
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
