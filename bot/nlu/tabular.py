"""Rows of text + label from a CSV or Excel file (historical work orders, evaluation sets).

Agencies export from many systems: CSV comes as UTF-8 (with or without BOM), GBK/GB18030
(Excel on Chinese Windows), or UTF-16 (Excel's "Unicode text", usually tab-separated).
The encoding is detected from the BOM, else from NUL bytes (UTF-16 without BOM), else by
trying UTF-8 then GB18030; the delimiter is sniffed among comma, tab and semicolon.
"""
from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass
from pathlib import Path

TEXT_COLUMNS = ("text", "content", "诉求内容", "内容", "来电内容", "工单内容", "问题描述", "描述", "诉求")
LABEL_COLUMNS = ("label", "category", "code", "分类", "诉求分类", "类别", "二级分类", "一级分类")

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))   # long letters must not stop a file


class TableError(ValueError):
    pass


@dataclass
class Table:
    rows: list[dict[str, str]]
    encoding: str          # "xlsx" for Excel files


def decode(raw: bytes) -> tuple[str, str]:
    """The text of a CSV file and the encoding it was in."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    head = raw[:65536]
    even, odd = head[0::2].count(b"\x00"), head[1::2].count(b"\x00")
    if even + odd and max(even, odd) >= 0.9 * (even + odd):   # UTF-16 without a BOM: the
        encoding = "utf-16-be" if even > odd else "utf-16-le"  # NULs of its ASCII commas
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            pass
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise UnicodeDecodeError("unknown", raw[:1], 0, 1, "not UTF-8, GB18030 or UTF-16")


def _delimiter(content: str, suffix: str) -> str:
    if suffix == ".tsv":
        return "\t"
    first = content.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_table(path: Path) -> Table:
    path = Path(path)
    if not path.is_file():
        raise TableError(f"文件不存在：{path} (no such file)")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(path, read_only=True, data_only=True).active
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on a broken file
            raise TableError(f"无法读取 Excel 文件：{path} (not a readable .xlsx: "
                             f"{type(exc).__name__})") from None
        rows = [["" if v is None else str(v).strip() for v in row]
                for row in sheet.iter_rows(values_only=True)]
        encoding = "xlsx"
    elif suffix in (".csv", ".txt", ".tsv"):
        try:
            content, encoding = decode(path.read_bytes())
        except UnicodeDecodeError:
            raise TableError(f"无法识别文件编码，请另存为 UTF-8 或 GBK：{path} "
                             f"(encoding is not UTF-8, GB18030 or UTF-16)") from None
        content = content.replace("\x00", "")
        reader = csv.reader(io.StringIO(content, newline=""), delimiter=_delimiter(content, suffix))
        try:
            rows = [[cell.strip() for cell in row] for row in reader]
        except csv.Error as exc:
            raise TableError(f"CSV 格式有误：{path} (malformed CSV: {exc})") from None
    else:
        raise TableError(f"只支持 .csv 或 .xlsx 文件：{path} (only .csv/.tsv/.txt or .xlsx)")
    rows = [row for row in rows if any(row)]
    if not rows:
        raise TableError(f"文件是空的：{path} (the file is empty)")
    header = rows[0]
    return Table([dict(zip(header, row + [""] * (len(header) - len(row)))) for row in rows[1:]],
                 encoding)


def read_rows(path: Path) -> list[dict[str, str]]:
    return read_table(path).rows


def pick_column(rows: list[dict[str, str]], wanted: str | None, candidates: tuple[str, ...],
                what: str) -> str:
    columns = list(rows[0].keys()) if rows else []
    if wanted:
        if wanted not in columns:
            raise TableError(f"找不到{what}列“{wanted}”，文件里的列有：{', '.join(columns)} "
                             f"(no column {wanted!r})")
        return wanted
    for name in candidates:
        for column in columns:
            if column.strip().lower() == name.lower():
                return column
    raise TableError(f"请用参数指定{what}列，文件里的列有：{', '.join(columns)} "
                     f"(name the column with an option)")
