"""`bot evaluate`: score the classifier on a labelled CSV/Excel file at both levels."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from bot.catalog import Catalog
from bot.nlu import Classification, Classifier
from bot.nlu.labels import Label, LabelResolver
from bot.nlu.metrics import evaluate
from bot.nlu.tabular import LABEL_COLUMNS, TEXT_COLUMNS, pick_column, read_rows


@dataclass
class Row:
    text: str
    raw_label: str
    label: Label


def load_rows(path: Path, catalog: Catalog, text_col: str | None,
              label_col: str | None) -> tuple[list[Row], int]:
    """Labelled rows and the number skipped (no text, or a label that is not in the taxonomy)."""
    rows = read_rows(path)
    tcol = pick_column(rows, text_col, TEXT_COLUMNS, "文本")
    lcol = pick_column(rows, label_col, LABEL_COLUMNS, "分类")
    resolver = LabelResolver(catalog)
    kept, skipped = [], 0
    for row in rows:
        text, raw = (row.get(tcol) or "").strip(), (row.get(lcol) or "").strip()
        label = resolver.resolve(raw)
        if not text or label is None:
            skipped += 1
            continue
        kept.append(Row(text, raw, label))
    return kept, skipped


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
        writer = csv.writer(handle)
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
