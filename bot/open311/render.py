"""Open311 answers as JSON or XML (the spec's default), written with the standard library.

A list answer is a JSON array and, in XML, a root element holding one element per item
(`<services><service>…`). Nested lists use the spec's element names (`attributes/attribute`,
`values/value`, …). Characters XML cannot carry are dropped from the XML text.

Requests are read without a key, by anyone: a resident's words are shown only through
`public_description` (numbers masked, typed names starred, nothing of an emergency or a crisis).
"""
from __future__ import annotations

import functools
import json
import re
import xml.etree.ElementTree as ET

from starlette.responses import Response

from bot.nlu.urgency import mentions_danger
from bot.open311.errors import Open311Error
from bot.privacy import mask_names, mask_text

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
HEADERS = {"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
           "Cache-Control": "no-store"}
CHILD = {"attributes": "attribute", "values": "value", "endpoints": "endpoint",
         "formats": "format", "keywords": "keyword"}
# What a public read says instead of a matter of life and safety (a crisis disclosure, a
# violent home, a fire): the words are for the people who handle it, not for any passer-by.
PRIVATE = "（内容涉及个人隐私，不予公开）"
PRIVATE_CATEGORIES = frozenset({"security.emergency"})
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def public_text(text: str | None) -> str | None:
    """Free text for anyone to read: phone numbers, IDs, cards and plates masked, the names
    a resident typed about themself starred (我叫张*)."""
    return mask_names(mask_text(text))


def public_description(summary: str | None, text: str | None, category: str | None) -> str | None:
    """A request's description in a public read: `public_text` of its summary, or `PRIVATE`
    for an emergency category or any words of danger, self-harm or threat in the whole text
    (read widely, by the rules alone: hiding a harmless text costs little, showing a crisis a
    lot)."""
    if category in PRIVATE_CATEGORIES or _dangerous(text or summary or ""):
        return PRIVATE
    return public_text(summary)


@functools.lru_cache(maxsize=2048)
def _dangerous(text: str) -> bool:
    """`mentions_danger`, once per text: a public list reads the same cases again and again."""
    return mentions_danger(text)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(parent: ET.Element, data: dict) -> None:
    for key, value in data.items():
        node = ET.SubElement(parent, key)
        if isinstance(value, dict):
            _fill(node, value)
        elif isinstance(value, list):
            if key == "keywords":           # the spec writes keywords comma separated
                node.text = _text(",".join(value))
                continue
            for item in value:
                child = ET.SubElement(node, CHILD.get(key, "item"))
                if isinstance(item, dict):
                    _fill(child, item)
                else:
                    child.text = _text(item)
        else:
            node.text = _text(value)


def to_xml(root: str, item: str | None, data) -> bytes:
    """`data` is a list of dicts (each under `item`) or one dict filling `root`."""
    top = ET.Element(root)
    if item is None:
        _fill(top, data)
    else:
        for entry in data:
            _fill(ET.SubElement(top, item), entry)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="utf-8",
                                                                   xml_declaration=False)


def answer(fmt: str, root: str, item: str | None, data, status: int = 200,
           headers: dict[str, str] | None = None) -> Response:
    if fmt == "json":
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    else:
        body = to_xml(root, item, data)
    return Response(body, status_code=status, media_type=FORMATS[fmt],
                    headers={**HEADERS, **(headers or {})})


def error(fmt: str, exc: Open311Error) -> Response:
    """The spec's error list: `[{"code", "description"}]` / `<errors><error>…`."""
    return answer(fmt, "errors", "error", [{"code": exc.status, "description": exc.description}],
                  status=exc.status, headers=exc.headers)
