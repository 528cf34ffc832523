"""Rows of text + label from a CSV or Excel file (historical work orders, evaluation sets)."""
from __future__ import annotations

import csv
from pathlib import Path

TEXT_COLUMNS = ("text", "content", "诉求内容", "内容", "来电内容", "工单内容", "问题描述", "描述", "诉求")
LABEL_COLUMNS = ("label", "category", "code", "分类", "诉求分类", "类别", "二级分类", "一级分类")


class TableError(ValueError):
    pass


def read_rows(path: Path) -> list[dict[str, str]]:
    path = Path(path)
    if not path.is_file():
        raise TableError(f"文件不存在：{path}")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True, data_only=True).active
        rows = [["" if v is None else str(v).strip() for v in row]
                for row in sheet.iter_rows(values_only=True)]
    elif path.suffix.lower() in (".csv", ".txt", ".tsv"):
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                content = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise TableError(f"无法识别文件编码：{path}")
        dialect = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel
        rows = [[cell.strip() for cell in row] for row in csv.reader(content.splitlines(), dialect)]
    else:
        raise TableError(f"只支持 .csv 或 .xlsx 文件：{path}")
    rows = [row for row in rows if any(row)]
    if not rows:
        raise TableError(f"文件是空的：{path}")
    header = rows[0]
    return [dict(zip(header, row + [""] * (len(header) - len(row)))) for row in rows[1:]]


def pick_column(rows: list[dict[str, str]], wanted: str | None, candidates: tuple[str, ...],
                what: str) -> str:
    columns = list(rows[0].keys()) if rows else []
    if wanted:
        if wanted not in columns:
            raise TableError(f"找不到{what}列“{wanted}”，文件里的列有：{', '.join(columns)}")
        return wanted
    for name in candidates:
        for column in columns:
            if column.strip().lower() == name.lower():
                return column
    raise TableError(f"请用参数指定{what}列，文件里的列有：{', '.join(columns)}")
