"""Fit the in-process text models before the first resident needs them.

The safety models (bot/nlu/safety_model.py) and the 12345 type model (bot/nlu/case_type.py)
are fitted from the data files on first use, which takes seconds; the first message of the day
would wait for them. The processes that serve residents call `warm_in_background()` as they
start (the app under `bot run`, the action server on import of `actions`).
"""
from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger(__name__)


def warm() -> None:
    from bot.nlu import case_type, safety_model, urgency

    started = time.perf_counter()
    rules = urgency.load_rules()
    if rules.model_dir is not None:
        safety_model.emergency_model(rules.model_dir)
        safety_model.crisis_model(rules.model_dir)
    case_type.model()
    log.info("text models ready in %.1f s", time.perf_counter() - started)


def warm_in_background() -> threading.Thread:
    def run() -> None:
        try:
            warm()
        except Exception:  # noqa: BLE001 - the models are fitted on first use anyway
            log.exception("warming the text models failed; they are fitted on first use")

    thread = threading.Thread(target=run, name="warm-models", daemon=True)
    thread.start()
    return thread
