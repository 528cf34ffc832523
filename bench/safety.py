"""False alarms of the safety rules and the crisis classifier on real letters, and the dev-set
figures the tests judge (bot/nlu/urgency.py, bot/nlu/safety_model.py).

    .venv/app/bin/python -m bench.safety [--thresholds 0.2,0.3,0.35] [--no-board] [--ids]

Board: the 11,518 real message-board letters (../shared/data/gov-messages/, outside the
repository, read by bot/nlu/devset.py). None of them is a crisis or a threat on reading, so
every flag is a false alarm; the target (issue 15) is at most 3. It prints the emergency flags
and the crisis/threat flags at the shipped threshold (by the rules, by the classifier), then
the crisis/threat flags at each threshold of `--thresholds` (the rules read once, the classifier
scores kept: a sweep costs one pass). `--ids` lists the flagged rows' ids (never their text), emergencies and crises alike.

Dev: each crisis dev set's recall and false alarms through `assess` (as
tests/test_safety_blind.py prints them), then the held-out check of
tests/test_safety_model.py at each threshold: the classifier alone, fitted without one author's
set, must find ≥ 45% of that author's crises and threats with at most 4% false alarms. Last, the
emergency dev sets' recall and false alarms.

The blind halves (tests/data/blind/) are never read here: their figures come only from
`pytest tests/test_safety_blind.py -s`.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter

import yaml

from bot.nlu import devset
from bot.nlu.safety_model import CRISIS_LABELS, CrisisModel, crisis_examples, crisis_model
from bot.nlu.urgency import _mentioned, assess, load_rules, prepare
from bot.settings import ROOT

DATA = ROOT / "data"
EXAMPLES = DATA / "safety_examples"
HELD_OUT_CHECKED = ("dev", "dev2", "dev3", "dev4", "dev5", "dev7", "dev8")   # as tests/test_safety_model.py
BOARD_TARGET = 3
RECALL_FLOOR, ALARM_CEILING = 0.45, 0.04


def board(texts: list[tuple[str, str]], thresholds: list[float]) -> dict:
    """Flags on the board letters: emergencies and rule concerns as shipped, and the
    classifier's best score per concern wherever `assess` would ask it."""
    rules = load_rules()
    model = crisis_model(DATA)
    scored: dict[str, dict[str, float]] = {}
    current = [""]
    shipped = model.concerns

    def recording(said: str) -> tuple[str, ...]:
        scored[current[0]] = {kind: score for kind, score in model.scores(said).items()
                              if not _mentioned(kind, said, rules)}
        return ()

    emergencies, by_rules = [], []
    model.concerns = recording
    try:
        for row_id, text in texts:
            current[0] = row_id
            safety = assess(text, rules)
            if safety.level == "emergency":
                emergencies.append(row_id)
            if safety.concerns:
                by_rules.append(row_id)
    finally:
        model.concerns = shipped

    def by_model(threshold: float) -> list[str]:
        return [row_id for row_id, scores in scored.items() if any(s > threshold for s in scores.values())]

    return {"rows": len(texts), "emergencies": emergencies, "rules": by_rules,
            "model": by_model(model.threshold), "threshold": model.threshold,
            "sweep": {t: sorted(set(by_rules) | set(by_model(t)), key=int) for t in thresholds},
            "scores": scored}


def _set(name: str) -> list[tuple[str, str]]:
    items = (yaml.safe_load((EXAMPLES / f"{name}.yml").read_text(encoding="utf-8")) or {}).get("items") or []
    return [(str(i["text"]), CRISIS_LABELS.get(str(i.get("label")), "none")) for i in items]


def crisis_sets() -> list[str]:
    return sorted((p.stem for p in EXAMPLES.glob("crisis_dev*.yml")), key=lambda s: (len(s), s))


def through_assess(name: str) -> tuple[int, int, int, int]:
    """(found, positives, alarms, negatives) of one crisis set through `assess`."""
    items = _set(name)
    found = sum(1 for text, label in items if label != "none" and label in assess(text).concerns)
    alarms = sum(1 for text, label in items if label == "none" and assess(text).concerns)
    positives = sum(1 for _, label in items if label != "none")
    return found, positives, alarms, len(items) - positives


def held_out(name: str, thresholds: list[float]) -> dict[float, tuple[int, int, int, int]]:
    """The classifier alone, fitted without set `name`, read on it at each threshold."""
    rules = load_rules()
    test = _set(name)
    held = {text for text, _ in test}
    train = [x for x in zip(*crisis_examples(DATA)) if x[0] not in held]
    model = CrisisModel([prepare(t, rules) for t, _ in train], [label for _, label in train],
                        rules.crisis_cues, rules.crisis_threshold)
    scores = [(label, model.scores(prepare(text, rules))) for text, label in test]
    positives = sum(1 for label, _ in scores if label != "none")
    out = {}
    for t in thresholds:
        found = sum(1 for label, s in scores if label != "none" and s[label] > t)
        alarms = sum(1 for label, s in scores if label == "none" and max(s.values()) > t)
        out[t] = (found, positives, alarms, len(test) - positives)
    return out


def urgency_sets() -> list[tuple[str, int, int, int, int]]:
    out = []
    for path in sorted(EXAMPLES.glob("urgency_dev*.yml")):
        items = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("items") or []
        urgent = [i for i in items if i.get("label") == "emergency"]
        others = [i for i in items if i.get("label") != "emergency"]
        found = sum(1 for i in urgent if assess(str(i["text"])).level == "emergency")
        alarms = sum(1 for i in others if assess(str(i["text"])).level == "emergency")
        out.append((path.stem, found, len(urgent), alarms, len(others)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--thresholds", default="", help="comma-separated crisis thresholds to sweep")
    parser.add_argument("--no-board", action="store_true", help="skip the board letters (about two minutes)")
    parser.add_argument("--ids", action="store_true", help="list the ids of flagged board rows")
    args = parser.parse_args(argv)
    shipped = load_rules().crisis_threshold
    thresholds = sorted({shipped, *(float(t) for t in args.thresholds.split(",") if t.strip())})

    if not args.no_board:
        try:
            rows = [(row.id, row.text) for row in devset.load()]
        except devset.DevSetMissing as missing:
            print(f"board letters skipped: {missing}")
        else:
            result = board(rows, thresholds)
            flags = sorted(set(result["rules"]) | set(result["model"]), key=int)
            print(f"Board letters ({result['rows']}): emergency flags {len(result['emergencies'])}; "
                  f"crisis/threat flags {len(flags)} at threshold {result['threshold']} "
                  f"(rules {len(result['rules'])}, classifier {len(result['model'])}), target ≤ {BOARD_TARGET}")
            for t, flagged in result["sweep"].items():
                print(f"  threshold {t:.2f}: crisis/threat flags {len(flagged)}"
                      + (f"  ids {' '.join(flagged)}" if args.ids else ""))
            if args.ids:
                print(f"  emergency flags: {' '.join(result['emergencies'])}")
                print(f"  by the rules: {' '.join(result['rules'])}")
                top = sorted(((max(s.values()), i) for i, s in result["scores"].items() if s), reverse=True)[:12]
                print("  highest classifier scores: " + ", ".join(f"{i} {s:.2f}" for s, i in top))

    print("\nCrisis dev sets through assess (rules and classifier, as shipped):")
    total = Counter()
    for name in crisis_sets():
        found, positives, alarms, negatives = through_assess(name)
        total.update(found=found, positives=positives, alarms=alarms, negatives=negatives)
        print(f"  {name:<13} recall {found}/{positives}, false alarms {alarms}/{negatives}")
    print(f"  {'all':<13} recall {total['found']}/{total['positives']}, false alarms {total['alarms']}/{total['negatives']}")

    print(f"\nHeld-out classifier alone (≥ {RECALL_FLOOR:.0%} recall, ≤ {ALARM_CEILING:.0%} false alarms; "
          f"* = checked by tests/test_safety_model.py):")
    for name in crisis_sets():
        figures = held_out(name, thresholds)
        held = name.removeprefix("crisis_")
        cells = []
        for t, (found, positives, alarms, negatives) in figures.items():
            ok = found >= RECALL_FLOOR * positives and alarms <= ALARM_CEILING * negatives
            cells.append(f"{t:.2f}: {found}/{positives} {alarms}/{negatives}{'' if ok else ' FAIL'}")
        print(f"  {name:<13}{'*' if held in HELD_OUT_CHECKED else ' '} " + " | ".join(cells))

    print("\nEmergency dev sets through assess:")
    for name, found, urgent, alarms, others in urgency_sets():
        print(f"  {name:<13} recall {found}/{urgent}, false alarms {alarms}/{others}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
