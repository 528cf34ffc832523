"""`bot evaluate`: score the classifier on a labelled CSV/Excel file at both levels."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from bot.catalog import Catalog
from bot.csvsafe import Writer
from bot.nlu import Classification, Classifier
from bot.nlu.labels import Label, LabelResolver
from bot.nlu.metrics import evaluate
from bot.nlu.tabular import LABEL_COLUMNS, TEXT_COLUMNS, TableError, pick_column, read_rows

MAX_TEXT_CHARS = 5000               # longer is not one resident's demand: the row is skipped
CSV_FIELD_LIMIT = 16 * 1024 * 1024  # a long cell is one skipped row, not a dead file

csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))


@dataclass
class Row:
    text: str
    raw_label: str
    label: Label


def load_rows(path: Path, catalog: Catalog, text_col: str | None,
              label_col: str | None) -> tuple[list[Row], int]:
    """Labelled rows and the number skipped (no text, text too long, or a label that is not in
    the taxonomy). Raises `TableError` with a reason for a file that cannot be read."""
    rows = _read(path)
    if not rows:
        raise TableError(f"文件只有表头，没有数据行：{path.name} (no data rows, only a header)")
    tcol = pick_column(rows, text_col, TEXT_COLUMNS, "文本")
    lcol = pick_column(rows, label_col, LABEL_COLUMNS, "分类")
    resolver = LabelResolver(catalog)
    kept, skipped = [], 0
    for row in rows:
        text, raw = (row.get(tcol) or "").strip(), (row.get(lcol) or "").strip()
        label = resolver.resolve(raw)
        if not text or len(text) > MAX_TEXT_CHARS or label is None:
            skipped += 1
            continue
        kept.append(Row(text, raw, label))
    return kept, skipped


def _read(path: Path) -> list[dict[str, str]]:
    try:
        return read_rows(path)
    except TableError:
        raise
    except csv.Error as exc:
        raise TableError(f"CSV 文件无法读取：{path.name}（单元格过大或格式错误）(unreadable CSV: {exc})") from None
    except UnicodeError as exc:
        raise TableError(f"无法识别文件编码：{path.name} (cannot decode: {exc.reason})") from None
    except OSError as exc:
        raise TableError(f"无法读取文件：{path.name}，{exc.strerror} (cannot read: {exc.strerror})") from None
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds (BadZipFile, KeyError …)
        raise TableError(f"无法读取表格文件：{path.name}（文件已损坏，或并不是真正的 Excel 文件）"
                         f"(unreadable spreadsheet: {type(exc).__name__})") from None


def check_writable(path: Path) -> None:
    """Refuse an output path that cannot be written, before any work is done."""
    path = Path(path)
    if path.is_dir():
        raise TableError(f"预测结果的输出路径是一个目录：{path} (--predictions is a directory)")
    existed = path.exists()
    try:
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise TableError(f"无法写入预测结果文件：{path}，{exc.strerror} "
                         f"(cannot write --predictions: {exc.strerror})") from None
    if not existed:
        path.unlink(missing_ok=True)


def score(rows: list[Row], results: list[Classification]) -> dict:
    def public(figures: dict) -> dict:
        return {k: figures[k] for k in ("accuracy", "macro_f1", "per_class", "confusion")}

    level1 = evaluate([r.label.level1 for r in rows], [c.level1 for c in results])
    pairs = [(r.label.code, c.code) for r, c in zip(rows, results) if r.label.code]
    level2 = public(evaluate([g for g, _ in pairs], [p for _, p in pairs])) if pairs else None
    if level2 is not None:
        level2["n"] = len(pairs)
    return {"n": len(rows), "level1": public(level1), "level2": level2}


def write_predictions(path: Path, rows: list[Row], results: list[Classification]) -> None:
    with Path(path).open("w", encoding="utf-8-sig", newline="") as handle:
        writer = Writer(handle)       # a resident's text may start like a formula
        writer.writerow(["text", "label", "predicted_code", "predicted_level1", "predicted_level2",
                         "confidence", "level1_correct", "level2_correct"])
        for row, result in zip(rows, results):
            writer.writerow([row.text, row.raw_label, result.code, result.level1, result.level2,
                             f"{result.confidence:.4f}", int(row.label.level1 == result.level1),
                             "" if row.label.code is None else int(row.label.code == result.code)])


def classify_all(classifier: Classifier, texts: list[str], batch: int = 200) -> list[Classification]:
    results: list[Classification] = []
    for start in range(0, len(texts), batch):
        results += classifier.classify(texts[start:start + batch])
    return results
