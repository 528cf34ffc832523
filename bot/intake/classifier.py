"""The classifier the intake uses: the trained Rasa model when there is one, else keywords.

The Rasa-backed classifier is written in bot/nlu/ by the dialogue work; it is looked up by
name so that this module does not depend on it being there.
"""
from __future__ import annotations

import importlib
import logging
from pathlib import Path

from bot.nlu import Classifier, KeywordClassifier
from bot.settings import ROOT

log = logging.getLogger(__name__)

# Where RasaClassifier may live, in order; the first importable one is used.
_RASA_MODULES = ("bot.nlu", "bot.nlu.rasa_classifier", "bot.nlu.rasa", "bot.nlu.classifier")


def model_path(container) -> Path:
    settings = container.settings
    configured = getattr(settings, "extra", {}).get("RASA_MODEL") if hasattr(settings, "extra") else None
    return Path(configured) if configured else ROOT / "models" / "current.tar.gz"


def rasa_classifier_class():
    for name in _RASA_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        cls = getattr(module, "RasaClassifier", None)
        if cls is not None:
            return cls
    return None


def default_classifier(container) -> Classifier:
    """RasaClassifier when importable and models/current.tar.gz exists, else KeywordClassifier."""
    cls = rasa_classifier_class()
    model = model_path(container)
    if cls is not None and model.exists():
        try:
            if hasattr(cls, "from_container"):
                return cls.from_container(container)
            return cls(container.catalog, model)
        except Exception as exc:  # noqa: BLE001 - any failure to load falls back, loudly
            log.warning("Rasa classifier unavailable (%s); using keywords", exc)
    return KeywordClassifier(container.catalog)


def is_model_classifier(classifier: Classifier) -> bool:
    return not isinstance(classifier, KeywordClassifier)
