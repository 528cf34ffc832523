"""Open311 answers as JSON or XML (the spec's default), written with the standard library.

A list answer is a JSON array and, in XML, a root element holding one element per item
(`<services><service>…`). Nested lists use the spec's element names (`attributes/attribute`,
`values/value`, …). Characters XML cannot carry are dropped from the XML text.
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from starlette.responses import Response

from bot.open311.errors import Open311Error

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
HEADERS = {"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
           "Cache-Control": "no-store"}
CHILD = {"attributes": "attribute", "values": "value", "endpoints": "endpoint",
         "formats": "format", "keywords": "keyword"}
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


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
