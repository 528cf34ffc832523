"""Logging set-up with personal data masked in every line.

Two layers, both using the detectors of `bot.privacy`:
- `install_masking()` wraps the log record factory, so every record created in this process
  (whoever handles it: our stream handler, pytest's capture, a library's handler) already
  carries a masked message, masked arguments and a masked traceback. The arguments keep their
  shape (formatters such as uvicorn's access log unpack them); an argument whose text holds
  personal data is replaced by its masked text;
- `MaskingFilter` on our handler renders the whole message and masks it, which also catches a
  number split across two arguments.
"""
from __future__ import annotations

import logging

from bot.privacy import mask_text

_FORMATTER = logging.Formatter()


def mask_pii(text: str) -> str:
    return mask_text(text) or text


def _mask_traceback(record: logging.LogRecord) -> None:
    if record.exc_info and not record.exc_text:
        record.exc_text = _FORMATTER.formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask_pii(record.exc_text)
    if record.stack_info:
        record.stack_info = mask_pii(record.stack_info)


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Render the message with its arguments, mask it, and mask any traceback text."""
    if getattr(record, "_pii_masked", False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string must not lose the record
        message = f"{record.msg} {record.args}"
    record.msg, record.args = mask_pii(message), None
    _mask_traceback(record)
    record._pii_masked = True
    return record


def _masked_arg(value):
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    text = value if isinstance(value, str) else str(value)
    masked = mask_pii(text)
    return value if masked == text else masked


def mask_record_args(record: logging.LogRecord) -> logging.LogRecord:
    """Mask the message template, each argument, and any traceback, keeping the shapes."""
    if isinstance(record.msg, str):
        record.msg = mask_pii(record.msg)
    if isinstance(record.args, tuple):
        record.args = tuple(_masked_arg(a) for a in record.args)
    elif isinstance(record.args, dict):
        record.args = {k: _masked_arg(v) for k, v in record.args.items()}
    _mask_traceback(record)
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
        return mask_record_args(factory(*args, **kwargs))

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
