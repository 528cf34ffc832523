"""The category classifier alone, trained in-process on data/nlu, on the development set and the
held-out splits: about 30 s instead of `make model` + `bench.nlu` (several minutes).

    .venv/rasa/bin/python -m bench.nlu_fast [--exclude report_x.yml] [--extra more.yml]
                                            [--config '{"category_c": 0.5}'] [--per-class]

Runs in the Rasa environment (it imports rasa_tools.components). It trains SparseLinearClassifier
with the pipeline's settings from config.yml on the same examples Rasa reads (data/nlu/*.yml,
jieba with data/jieba, texts cut to rasa_tools/parse.py's MAX_CHARS at parse time) and applies
FallbackClassifier's thresholds to the intent, so its figures match `bench.nlu` on a model
trained from the same files (checked: the same dev and held-out figures to the fourth decimal).
It leaves out what the full model adds around the classifier (the entity extractor, dialogue
policies), so it is a tool for trying training data and classifier settings; report figures
from `bench.nlu` on the trained model.

The development set's first-level macro-F1 is printed on the odd-id rows, the even-id rows and
all of them: read the errors on one half and judge changes on the other.
"""
from __future__ import annotations

import argparse
import glob
import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _quiet() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exclude", nargs="*", default=[], help="data/nlu file names to leave out")
    parser.add_argument("--extra", nargs="*", default=[], type=Path, help="more NLU files to train on")
    parser.add_argument("--config", default="{}", help="JSON overriding the component's settings")
    parser.add_argument("--per-class", action="store_true", help="per-class dev figures")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    _quiet()

    import jieba
    import yaml
    from rasa.nlu.tokenizers.tokenizer import Token
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    import rasa_tools.components as components
    from bot.catalog import Catalog
    from bot.nlu import devset
    from bot.nlu.heldout import heldout_files, read_examples
    from bot.nlu.metrics import evaluate
    from rasa_tools.parse import MAX_CHARS

    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    steps = {step["name"]: step for step in config["pipeline"]}
    jieba.setLogLevel(logging.ERROR)
    for path in sorted(glob.glob(str(ROOT / steps["JiebaTokenizer"]["dictionary_path"] / "*"))):
        jieba.load_userdict(path)
    fallback = steps.get("FallbackClassifier", {})
    threshold = fallback.get("threshold", 0.3)
    ambiguity = fallback.get("ambiguity_threshold", 0.1)
    settings = {k: v for k, v in steps["rasa_tools.components.SparseLinearClassifier"].items()
                if k != "name"}
    settings.update(json.loads(args.config))

    def tokens(text: str) -> list:
        return [Token(word, start) for word, start, _ in jieba.tokenize(text)]

    files = [Path(f) for f in sorted(glob.glob(str(ROOT / "data" / "nlu" / "*.yml")))
             if Path(f).name not in set(args.exclude)] + list(args.extra)
    data = TrainingData().merge(*[load_data(str(f), language="zh") for f in files])
    for message in data.intent_examples:
        message.set("text_tokens", tokens(message.get("text")))
    classifier = components.SparseLinearClassifier(settings, None, None)
    classifier.persist = lambda: None          # nothing is written
    started = time.perf_counter()
    classifier.train(data)
    train_seconds = round(time.perf_counter() - started, 1)

    def parse(texts: list[str]) -> list[dict]:
        messages = []
        for text in texts:
            text = text[:MAX_CHARS]
            message = Message(data={"text": text})
            message.set("text_tokens", tokens(text))
            messages.append(message)
        classifier.process(messages)
        out = []
        for message in messages:
            ranking = message.get("intent_ranking") or []
            intent = ranking[0]["name"] if ranking else "none"
            if ranking and (ranking[0]["confidence"] < threshold or (
                    len(ranking) > 1 and ranking[0]["confidence"] - ranking[1]["confidence"] < ambiguity)):
                intent = "nlu_fallback"
            category = message.get("report_category") or {}
            out.append({"intent": intent, "level1": category.get("level1") or "其他",
                        "ranking": [item["code"] for item in category.get("ranking") or []]})
        return out

    catalog = Catalog.load(ROOT / "data")
    rows = devset.labelled(devset.load())
    parses = parse([row.text for row in rows])
    dev = {}
    for name, keep in (("odd", lambda i: i % 2 == 1), ("even", lambda i: i % 2 == 0),
                       ("all", lambda i: True)):
        pairs = [(row.level1, p["level1"]) for row, p in zip(rows, parses) if keep(int(row.id))]
        dev[name] = evaluate([g for g, _ in pairs], [p for _, p in pairs])

    examples = read_examples(heldout_files(ROOT))
    held = parse([e.text for e in examples])
    reports = [(e, p) for e, p in zip(examples, held) if e.category in catalog.categories]
    best = [(p["ranking"] or ["other.misc"])[0] for _, p in reports]
    best = [code if code in catalog.categories else "other.misc" for code in best]
    own = {
        "intent_macro_f1": evaluate([e.intent for e in examples], [p["intent"] for p in held])["macro_f1"],
        "level1_macro_f1": evaluate([catalog.categories[e.category].level1 for e, _ in reports],
                                    [catalog.categories[c].level1 for c in best])["macro_f1"],
        "level2_macro_f1": evaluate([e.category for e, _ in reports], best)["macro_f1"],
        "category_top3_accuracy": round(sum(1 for e, p in reports if e.category in p["ranking"][:3])
                                        / len(reports), 4),
    }
    if args.json:
        print(json.dumps({"train_seconds": train_seconds, "heldout": own,
                          "devset": {k: {"macro_f1": v["macro_f1"], "accuracy": v["accuracy"],
                                         "per_class": v["per_class"]} for k, v in dev.items()}},
                         ensure_ascii=False, indent=2))
        return 0
    print(f"classifier trained in {train_seconds} s on {len(files)} files")
    print("held-out: " + ", ".join(f"{k} {v}" for k, v in own.items()))
    print("dev set level-1 macro-F1 / accuracy: " + ", ".join(
        f"{k} {v['macro_f1']} / {v['accuracy']}" for k, v in dev.items()))
    if args.per_class:
        for name in ("odd", "even"):
            print(f"  {name}: " + ", ".join(
                f"{label} {c['f1']} (P {c['precision']} R {c['recall']}, n {c['support']})"
                for label, c in dev[name]["per_class"].items() if c["support"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
