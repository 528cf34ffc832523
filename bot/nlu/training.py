"""Training with an agency's historical work orders (`bot train --history`), and K-fold figures.

History rows (text + label at any depth) become `report` examples in a generated NLU file that
is trained on together with data/nlu/: a row whose label names a category carries
`metadata: {category: <code>}` and trains both levels; a row whose label names only a first
level carries `metadata: {level1: <一级>}` and trains the first-level head of
SparseLinearClassifier (rasa_tools/components.py), while the second level keeps what the
shipped data teaches; where the history files a matter under another first level than the
shipped data, the history decides (the head weighs shipped examples less). Rasa runs in its own environment (scripts/train.sh for the full model,
`rasa train nlu` for cross-validation folds), so nothing here imports Rasa.

The model is trained to a temporary file beside the target and moved into place only when
training succeeded: a failed or interrupted run never replaces the current model.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import tarfile
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bot.catalog import Catalog
from bot.nlu.labels import Label, LabelMap, LabelResolver
from bot.nlu.metrics import evaluate
from bot.nlu.rasa import RASA_PYTHON, RasaClassifier, SubprocessParser
from bot.nlu.tabular import LABEL_COLUMNS, TEXT_COLUMNS, pick_column, read_table
from bot.settings import ROOT

MAX_EXAMPLE = 500
MIN_TEXT = 2
_ANNOTATION_CHARS = str.maketrans({"[": "［", "]": "］", "{": "｛", "}": "｝"})

# Why a row was not used, for people (the keys are stable in --json).
SKIP_REASONS = {
    "empty_text": "文本为空或过短",
    "empty_label": "没有分类",
    "unknown_label": "分类无法识别",
    "duplicate": "与前面的行文本相同",
    "conflicting_labels": "同一文本的分类互相矛盾",
}


class TrainingError(RuntimeError):
    pass


@dataclass
class History:
    examples: list[tuple[str, Label]] = field(default_factory=list)
    files: list[dict] = field(default_factory=list)           # path, rows, encoding
    rows: int = 0
    skipped_by: Counter = field(default_factory=Counter)       # reason → rows
    unknown_labels: Counter = field(default_factory=Counter)   # raw label → rows
    mapped: int = 0                                            # rows labelled through --label-map
    conflicts: list[dict] = field(default_factory=list)        # a few conflicting texts

    @property
    def skipped(self) -> int:
        return sum(self.skipped_by.values())

    @property
    def by_depth(self) -> dict[str, int]:
        depths = Counter(label.depth for _, label in self.examples)
        return {"level1_only": depths[1], "level2": depths[2]}

    def report(self) -> dict:
        return {"files": self.files, "rows": self.rows, "used": len(self.examples),
                "used_by_depth": self.by_depth, "mapped_by_label_map": self.mapped,
                "skipped": self.skipped, "skipped_by_reason": dict(self.skipped_by),
                "unknown_labels": dict(self.unknown_labels.most_common()),
                "conflicts": self.conflicts}


def clean_example(text: str) -> str:
    """One line, no Rasa entity markup, bounded length."""
    text = " ".join(str(text).split()).translate(_ANNOTATION_CHARS)
    return text[:MAX_EXAMPLE]


def _label_columns(rows: list[dict[str, str]], label_col: str | None) -> list[str]:
    """`--label-col` may name several columns (一级分类,二级分类): their values form a path."""
    if label_col and "," in label_col:
        return [pick_column(rows, name.strip(), (), "分类") for name in label_col.split(",")
                if name.strip()]
    return [pick_column(rows, label_col, LABEL_COLUMNS, "分类")]


def load_history(paths: list[Path], catalog: Catalog, text_col: str | None = None,
                 label_col: str | None = None, label_map: LabelMap | None = None) -> History:
    """Usable rows of the history files, and why every other row was skipped.

    A label goes through the label map first (when given), else it is read as our own code or
    names. Texts that occur more than once are kept once: with the deepest label when their
    labels agree (城乡建设 and urban.property agree), with the label of a clear majority
    otherwise, and not at all when no label has one.
    """
    resolver = LabelResolver(catalog)
    history = History()
    labels_of: dict[str, list[Label]] = {}
    for path in paths:
        table = read_table(path)
        rows = table.rows
        history.files.append({"path": str(path), "rows": len(rows), "encoding": table.encoding})
        history.rows += len(rows)
        if not rows:
            continue
        tcol = pick_column(rows, text_col, TEXT_COLUMNS, "文本")
        lcols = _label_columns(rows, label_col)
        for row in rows:
            text = clean_example(row.get(tcol, ""))
            raw = "/".join(v for v in (" ".join((row.get(c) or "").split()) for c in lcols) if v)
            if len(text) < MIN_TEXT:
                history.skipped_by["empty_text"] += 1
                continue
            if not raw:
                history.skipped_by["empty_label"] += 1
                continue
            label = label_map.lookup(raw) if label_map is not None else None
            if label is not None:
                history.mapped += 1
            else:
                label = resolver.resolve(raw)
            if label is None:
                history.skipped_by["unknown_label"] += 1
                history.unknown_labels[raw] += 1
                continue
            labels_of.setdefault(text, []).append(label)
    for text, labels in labels_of.items():
        label = _agree(labels)
        if label is None:
            history.skipped_by["conflicting_labels"] += len(labels)
            if len(history.conflicts) < 10:
                history.conflicts.append({"text": text[:40], "labels": sorted(
                    {lab.code or lab.level1 for lab in labels})})
            continue
        history.skipped_by["duplicate"] += len(labels) - 1
        history.examples.append((text, label))
    for reason in list(history.skipped_by):
        if not history.skipped_by[reason]:
            del history.skipped_by[reason]
    return history


def _agree(labels: list[Label]) -> Label | None:
    """The one label of a text that occurs with `labels`, or None when they conflict."""
    codes = {lab.code for lab in labels if lab.code}
    if len({lab.level1 for lab in labels}) == 1 and len(codes) <= 1:
        return max(labels, key=lambda lab: lab.depth)
    votes = Counter(labels).most_common()
    if votes[0][1] * 2 > len(labels):
        return votes[0][0]
    return None


def write_nlu(examples: list[tuple[str, Label | str]], path: Path) -> Path:
    """Report examples grouped by label; a label is a `Label` or a category code. Every block
    says `source: history`: the first-level head weighs these rows above the shipped ones."""
    groups: dict[tuple[str, str], list[str]] = {}
    for text, label in examples:
        key = ("category", label) if isinstance(label, str) else (
            ("category", label.code) if label.code else ("level1", label.level1))
        groups.setdefault(key, []).append(text)
    lines = ['version: "3.1"', "nlu:"]
    for key, value in sorted(groups):
        lines.append("- intent: report")
        # JSON is YAML: names with ":" or "," stay one scalar.
        lines.append(f"  metadata: {{{key}: {json.dumps(value, ensure_ascii=False)}, source: history}}")
        lines.append("  examples: |")
        lines.extend(f"    - {text}" for text in groups[(key, value)])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _env(data_dir: Path | None = None) -> dict[str, str]:
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"}
    if data_dir is not None:      # the component reads the taxonomy's 一级 of every code
        env["BOT_DATA_DIR"] = str(Path(data_dir).resolve())
    return env


def _is_model(path: Path) -> bool:
    try:
        return path.is_file() and path.stat().st_size > 0 and tarfile.is_tarfile(path)
    except OSError:
        return False


def train_model(out: Path, extra_nlu: list[Path], log: Path, data_dir: Path | None = None) -> float:
    """Train the full model (scripts/train.sh) with extra NLU files; returns seconds.

    Trains to `<out>-training-<pid>.tar.gz` and renames it over `out` only on success."""
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    stem = out.name.removesuffix(".tar.gz")
    # No dot in the temporary name: Rasa cuts a fixed model name at its first dot (it would
    # write straight over `out`).
    temp = out.with_name(f"{stem.replace('.', '_')}-training-{os.getpid()}.tar.gz")
    temp_info = temp.with_name(temp.name.removesuffix(".tar.gz") + ".train.json")
    started = time.perf_counter()
    try:
        with log.open("w", encoding="utf-8") as handle:
            proc = subprocess.run([str(ROOT / "scripts" / "train.sh"), str(temp), *map(str, extra_nlu)],
                                  cwd=ROOT, env=_env(data_dir), stdout=handle, stderr=subprocess.STDOUT)
        if proc.returncode != 0 or not _is_model(temp):
            raise TrainingError(f"训练失败，当前模型未改动，详见日志 {log} "
                                f"(training failed, the current model is unchanged)")
        seconds = time.perf_counter() - started
        os.replace(temp, out)
        info = {"model": str(out), "train_seconds": round(seconds), "trained_at":
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        out.with_name(stem + ".train.json").write_text(json.dumps(info) + "\n", encoding="utf-8")
        return seconds
    finally:
        temp.unlink(missing_ok=True)
        temp_info.unlink(missing_ok=True)


def train_nlu(out: Path, extra_nlu: list[Path], log: Path, data_dir: Path | None = None) -> None:
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
                cwd=ROOT, env=_env(data_dir), stdout=handle, stderr=subprocess.STDOUT)
    if proc.returncode != 0 or not _is_model(out):
        raise TrainingError(f"交叉验证的一折训练失败，详见日志 {log} (a fold failed to train)")


def folds(n: int, k: int, seed: int = 7) -> list[list[int]]:
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return [order[i::k] for i in range(k)]


def _figures(gold: list[str], predicted: list[str]) -> dict | None:
    if not gold:
        return None
    data = evaluate(gold, predicted)
    return {key: data[key] for key in ("n", "accuracy", "macro_f1", "per_class")}


def _baseline_predict(train: list[tuple[str, str]], texts: list[str]) -> list[str] | None:
    from bot.nlu.baseline import TfidfSvmBaseline

    if len({label for _, label in train}) < 2:
        return None
    model = TfidfSvmBaseline().fit([t for t, _ in train], [label for _, label in train])
    return model.predict(texts)


def cross_validate(history: History, k: int, catalog: Catalog, work: Path,
                   data_dir: Path | None = None) -> dict:
    """K-fold figures on the history rows, for the model (data/nlu plus the other folds) and
    the TF-IDF + LinearSVC baseline (the other folds only) on the same folds.

    First level: every row (each has one). Second level: the rows labelled with a category.
    `by_depth` repeats the first-level figures for the rows labelled only at the first level
    and for those labelled with a category, so a mixed history shows both schemes."""
    examples = history.examples
    if k < 2 or len(examples) < k:
        raise TrainingError(f"交叉验证需要 K≥2 且至少 K 条历史工单（现有 {len(examples)} 条）"
                            f"(cross-validation needs K >= 2 and at least K rows)")
    predicted: list[tuple[str, str | None]] = [("", None)] * len(examples)
    base1: list[str | None] = [None] * len(examples)
    base2: list[str | None] = [None] * len(examples)
    per_fold = []
    log = work / "cross_validate.log"
    log.write_text("", encoding="utf-8")
    for index, fold in enumerate(folds(len(examples), k)):
        held = set(fold)
        train = [e for i, e in enumerate(examples) if i not in held]
        texts = [examples[i][0] for i in fold]
        started = time.perf_counter()
        extra = write_nlu(train, work / f"fold{index}" / "history_train.yml")
        model = work / f"fold{index}" / "model.tar.gz"
        train_nlu(model, [extra], log, data_dir)
        classifier = RasaClassifier(catalog, SubprocessParser(model))
        try:
            results = classifier.classify(texts)
        finally:
            classifier.close()
        for i, result in zip(fold, results):
            predicted[i] = (result.level1, result.code)
        for i, label in zip(fold, _baseline_predict([(t, lab.level1) for t, lab in train], texts)
                            or [None] * len(fold)):
            base1[i] = label
        coded = [(t, lab.code) for t, lab in train if lab.code]
        for i, label in zip(fold, _baseline_predict(coded, texts) or [None] * len(fold)):
            base2[i] = label
        per_fold.append({"fold": index + 1, "n": len(fold),
                         "level1_accuracy": evaluate([examples[i][1].level1 for i in fold],
                                                     [predicted[i][0] for i in fold])["accuracy"],
                         "seconds": round(time.perf_counter() - started, 1)})

    def block(indices: list[int]) -> dict:
        level1_gold = [examples[i][1].level1 for i in indices]
        coded = [i for i in indices if examples[i][1].code]
        level2_gold = [examples[i][1].code for i in coded]
        return {
            "n": len(indices),
            "model": {"level1": _figures(level1_gold, [predicted[i][0] for i in indices]),
                      "level2": _figures(level2_gold, [predicted[i][1] for i in coded])},
            "baseline": {
                "level1": _figures(level1_gold, [base1[i] or "-" for i in indices])
                if all(base1[i] for i in indices) else None,
                "level2": _figures(level2_gold, [base2[i] or "-" for i in coded])
                if coded and all(base2[i] for i in coded) else None}}

    everything = list(range(len(examples)))
    data = {"k": k, "n": len(examples), "folds": per_fold, **block(everything), "by_depth": {}}
    for name, depth in (("level1_only", 1), ("level2", 2)):
        indices = [i for i in everything if examples[i][1].depth == depth]
        if indices and len(indices) < len(examples):
            data["by_depth"][name] = block(indices)
    return data


def summary_json(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
