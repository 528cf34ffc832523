"""Training with an agency's historical work orders (`bot train --history`), and K-fold figures.

History rows (text + label) become `report` examples (metadata: {category: <code>}) in a
generated NLU file that is trained on together with data/nlu/. Rasa runs in its own environment (scripts/train.sh for the
full model, `rasa train nlu` for cross-validation folds), so nothing here imports Rasa.
"""
from __future__ import annotations

import json
import os
import random
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.catalog import Catalog
from bot.nlu.labels import LabelResolver
from bot.nlu.metrics import evaluate
from bot.nlu.rasa import RASA_PYTHON, RasaClassifier, SubprocessParser
from bot.nlu.tabular import LABEL_COLUMNS, TEXT_COLUMNS, pick_column, read_rows
from bot.settings import ROOT

MAX_EXAMPLE = 500
_ANNOTATION_CHARS = str.maketrans({"[": "［", "]": "］", "{": "｛", "}": "｝"})


class TrainingError(RuntimeError):
    pass


@dataclass
class History:
    examples: list[tuple[str, str]] = field(default_factory=list)   # (text, code)
    skipped: int = 0                                                 # no text or no 二级 label


def clean_example(text: str) -> str:
    """One line, no Rasa entity markup, bounded length."""
    text = " ".join(str(text).split()).translate(_ANNOTATION_CHARS)
    return text[:MAX_EXAMPLE]


def load_history(paths: list[Path], catalog: Catalog, text_col: str | None = None,
                 label_col: str | None = None) -> History:
    resolver = LabelResolver(catalog)
    history, seen = History(), set()
    for path in paths:
        rows = read_rows(path)
        tcol = pick_column(rows, text_col, TEXT_COLUMNS, "文本")
        lcol = pick_column(rows, label_col, LABEL_COLUMNS, "分类")
        for row in rows:
            text = clean_example(row.get(tcol, ""))
            label = resolver.resolve(row.get(lcol))
            if len(text) < 2 or label is None or label.code is None:
                history.skipped += 1
                continue
            if text in seen:
                continue
            seen.add(text)
            history.examples.append((text, label.code))
    return history


def write_nlu(examples: list[tuple[str, str]], path: Path) -> Path:
    by_code: dict[str, list[str]] = {}
    for text, code in examples:
        by_code.setdefault(code, []).append(text)
    lines = ['version: "3.1"', "nlu:"]
    for code in sorted(by_code):
        lines.append("- intent: report")
        lines.append(f"  metadata: {{category: {code}}}")
        lines.append("  examples: |")
        lines.extend(f"    - {text}" for text in by_code[code])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _env() -> dict[str, str]:
    return {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"}


def train_model(out: Path, extra_nlu: list[Path], log: Path) -> float:
    """Train the full model (scripts/train.sh) with extra NLU files; returns seconds."""
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as handle:
        proc = subprocess.run([str(ROOT / "scripts" / "train.sh"), str(out), *map(str, extra_nlu)],
                              cwd=ROOT, env=_env(), stdout=handle, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise TrainingError(f"训练失败，详见日志 {log}")
    return time.perf_counter() - started


def train_nlu(out: Path, extra_nlu: list[Path], log: Path) -> None:
    """An NLU-only model on data/nlu + extra files (for cross-validation folds)."""
    with tempfile.TemporaryDirectory() as tmp:
        nlu_dir = Path(tmp) / "nlu"
        nlu_dir.mkdir()
        for source in sorted((ROOT / "data" / "nlu").glob("*.yml")) + list(extra_nlu):
            os.symlink(source.resolve(), nlu_dir / source.name)
        rasa = RASA_PYTHON.with_name("rasa")
        with log.open("a", encoding="utf-8") as handle:
            proc = subprocess.run(
                [str(rasa), "train", "nlu", "--config", "config.yml", "--nlu", str(nlu_dir),
                 "--out", str(out.parent), "--fixed-model-name", out.name.removesuffix(".tar.gz")],
                cwd=ROOT, env=_env(), stdout=handle, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise TrainingError(f"训练失败，详见日志 {log}")


def folds(n: int, k: int, seed: int = 7) -> list[list[int]]:
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return [order[i::k] for i in range(k)]


def cross_validate(history: History, k: int, catalog: Catalog, work: Path) -> dict:
    """K-fold figures on the history rows: each fold is predicted by a model trained on
    data/nlu plus the other folds."""
    if k < 2 or len(history.examples) < k:
        raise TrainingError(f"交叉验证需要 K≥2 且至少 K 条历史工单（现有 {len(history.examples)} 条）")
    gold, predicted, per_fold = [], [], []
    log = work / "cross_validate.log"
    for index, fold in enumerate(folds(len(history.examples), k)):
        held = set(fold)
        train = [e for i, e in enumerate(history.examples) if i not in held]
        extra = write_nlu(train, work / f"fold{index}" / "history_train.yml")
        model = work / f"fold{index}" / "model.tar.gz"
        train_nlu(model, [extra], log)
        classifier = RasaClassifier(catalog, SubprocessParser(model))
        try:
            results = classifier.classify([history.examples[i][0] for i in fold])
        finally:
            classifier.close()
        fold_gold = [history.examples[i][1] for i in fold]
        fold_pred = [r.code for r in results]
        per_fold.append({"fold": index + 1, "n": len(fold),
                         "level1_accuracy": evaluate(
                             [catalog.categories[c].level1 for c in fold_gold],
                             [catalog.categories[c].level1 for c in fold_pred])["accuracy"],
                         "level2_accuracy": evaluate(fold_gold, fold_pred)["accuracy"]})
        gold += fold_gold
        predicted += fold_pred
    level1 = evaluate([catalog.categories[c].level1 for c in gold],
                      [catalog.categories[c].level1 for c in predicted])
    level2 = evaluate(gold, predicted)
    return {"k": k, "n": len(gold), "folds": per_fold,
            "level1": {key: level1[key] for key in ("accuracy", "macro_f1", "per_class")},
            "level2": {key: level2[key] for key in ("accuracy", "macro_f1", "per_class")}}


def summary_json(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
