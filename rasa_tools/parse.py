"""Parse texts with a trained Rasa model; run by the Rasa environment's Python (3.10).

    .venv/rasa/bin/python rasa_tools/parse.py models/current.tar.gz < texts.jsonl

Reads JSON lines on stdin, each {"text": "..."} (or a bare JSON string), and writes one JSON
line per input on stdout, in order, flushed at once:

    {"text", "intent": {"name", "confidence"}, "intent_ranking": [...top 5],
     "entities": [{"entity", "value", "start", "end"}],
     "report_ranking": [{"code", "confidence"}, ...top 5], "report_level1": 一级 or null,
     "ms": parse time}

The first line written is {"ready": true, "load_seconds": ...} once the model is loaded, so a
caller can keep the process and send texts one at a time. Inputs are cut to MAX_CHARS: the
category of a 20,000-character message is decided by its beginning.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))   # the model's custom components live in rasa_tools/

MAX_CHARS = 1000


def _quiet() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    logging.disable(logging.WARNING)
    import warnings

    warnings.filterwarnings("ignore")


def _result(text: str, parsed: dict, ms: float) -> dict:
    ranking = [{"code": item["code"], "confidence": round(float(item["confidence"]), 5)}
               for item in (parsed.get("report_category") or {}).get("ranking") or []]
    return {
        "text": text,
        "intent": {"name": (parsed.get("intent") or {}).get("name"),
                   "confidence": round(float((parsed.get("intent") or {}).get("confidence") or 0), 5)},
        "intent_ranking": [{"name": i.get("name"), "confidence": round(float(i.get("confidence") or 0), 5)}
                           for i in (parsed.get("intent_ranking") or [])[:5]],
        "entities": [{k: e.get(k) for k in ("entity", "value", "start", "end")}
                     for e in parsed.get("entities") or []],
        "report_ranking": ranking[:5],
        "report_level1": (parsed.get("report_category") or {}).get("level1"),
        "ms": round(ms, 2),
    }


async def _serve(model_path: str) -> None:
    out = sys.stdout
    sys.stdout = sys.stderr     # whatever Rasa or TensorFlow print must not mix with results
    from rasa.core.agent import Agent

    started = time.perf_counter()
    agent = Agent.load(model_path)
    load_seconds = time.perf_counter() - started
    out.write(json.dumps({"ready": True, "load_seconds": round(load_seconds, 2)}) + "\n")
    out.flush()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            item = json.loads(line)
            text = item if isinstance(item, str) else str(item.get("text", ""))
        except (ValueError, AttributeError):
            text = line
        text = text[:MAX_CHARS]
        begin = time.perf_counter()
        if text.strip():
            parsed = await agent.parse_message(text)
        else:
            parsed = {"intent": {"name": None, "confidence": 0.0}}
        out.write(json.dumps(_result(text, parsed, (time.perf_counter() - begin) * 1000),
                             ensure_ascii=False) + "\n")
        out.flush()


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    _quiet()
    asyncio.run(_serve(sys.argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
