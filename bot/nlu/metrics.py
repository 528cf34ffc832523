"""Classification figures: accuracy, macro-F1, per-class precision/recall/F1, confusion matrix."""
from __future__ import annotations

from collections import Counter


def evaluate(gold: list[str], predicted: list[str]) -> dict:
    """Figures over the classes that occur in `gold` or `predicted` (macro over gold classes)."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    n = len(gold)
    labels = sorted(set(gold) | set(predicted))
    pairs = Counter(zip(gold, predicted))
    per_class = {}
    for label in labels:
        tp = pairs[(label, label)]
        support = sum(1 for g in gold if g == label)
        guessed = sum(1 for p in predicted if p == label)
        precision = tp / guessed if guessed else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": round(precision, 4), "recall": round(recall, 4),
                            "f1": round(f1, 4), "support": support}
    gold_labels = [label for label in labels if per_class[label]["support"]]
    macro = sum(per_class[label]["f1"] for label in gold_labels) / len(gold_labels) if gold_labels else 0.0
    accuracy = sum(1 for g, p in zip(gold, predicted) if g == p) / n if n else 0.0
    confusion = {g: {p: pairs[(g, p)] for p in labels if pairs[(g, p)]} for g in gold_labels}
    return {"n": n, "accuracy": round(accuracy, 4), "macro_f1": round(macro, 4),
            "per_class": per_class, "confusion": confusion}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(q / 100 * (len(ordered) - 1)))))
    return ordered[index]
