"""A streaming XLSX writer for plain tables: sheets of rows of text and numbers, no styles.

openpyxl builds an object per cell (about 10 µs each); a month's case list is half a million
cells, so the export writes the sheet XML itself (inline strings, as the Office Open XML spec
allows) straight into the zip. Files read back with openpyxl and open in Excel and WPS.
"""
from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from xml.sax.saxutils import quoteattr

# XML escapes, and the characters XML 1.0 cannot hold dropped (as openpyxl refuses them)
_ESCAPE = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;",
           **{c: None for c in (*range(0x09), 0x0b, 0x0c, *range(0x0e, 0x20),
                                *range(0xd800, 0xe000), 0xfffe, 0xffff)}}
_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"


class Book:
    """Sheets added in order with `sheet(name, rows)`; `save()` gives the file's bytes."""

    def __init__(self) -> None:
        self._out = io.BytesIO()
        self._zip = zipfile.ZipFile(self._out, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        self._names: list[str] = []
        self._memo: dict[str, str] = {}

    def sheet(self, name: str, rows: Iterable[Iterable | str]) -> None:
        """A sheet of `rows`: lists of values, or rows already made by `row` (a case that is
        on two sheets is rendered once)."""
        self._names.append(name)
        with self._zip.open(f"xl/worksheets/sheet{len(self._names)}.xml", "w") as raw:
            out = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            out.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                      f"<worksheet {_NS}><sheetData>")
            for row in rows:
                out.write(row if type(row) is str else self.row(row))
            out.write("</sheetData></worksheet>")
            out.flush()
            out.detach()

    def row(self, values: Iterable) -> str:
        """One row's XML. Rows and cells carry no `r` reference: the spec lets them follow
        in order, so the same row can go on several sheets."""
        cells, memo = [], self._memo       # a category, body or state recurs on every row
        for v in values:
            xml = memo.get(v) if type(v) is str else None
            if xml is None:
                xml = _cell(v)
                if type(v) is str and len(memo) < 50_000:
                    memo[v] = xml
            cells.append(xml)
        return f'<row>{"".join(cells)}</row>'

    def save(self) -> bytes:
        n = len(self._names)
        sheets = "".join(f'<sheet name={quoteattr(name)} sheetId="{i}" r:id="rId{i}"/>'
                         for i, name in enumerate(self._names, 1))
        self._zip.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
            + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                      f'ContentType="{_CT}.worksheet+xml"/>' for i in range(1, n + 1))
            + "</Types>"))
        self._zip.writestr("_rels/.rels", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"))
        self._zip.writestr("xl/workbook.xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<workbook {_NS} xmlns:r="{_REL}"><sheets>{sheets}</sheets></workbook>'))
        self._zip.writestr("xl/_rels/workbook.xml.rels", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + "".join(f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" '
                      f'Target="worksheets/sheet{i}.xml"/>' for i in range(1, n + 1))
            + "</Relationships>"))
        self._zip.close()
        return self._out.getvalue()


def _cell(value) -> str:
    if value is None or value == "":
        return "<c/>"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"<c><v>{value}</v></c>"
    text = str(value).translate(_ESCAPE)
    if not text:
        return "<c/>"
    return f'<c t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
