"""The classifier the intake uses: the trained Rasa model when there is one, else keywords."""
from __future__ import annotations

import logging

from bot.nlu import Classifier, KeywordClassifier
from bot.nlu.rasa import RasaClassifier

log = logging.getLogger(__name__)


def default_classifier(container) -> Classifier:
    """RasaClassifier when the model file exists (settings.rasa_model), else KeywordClassifier."""
    if container.settings.rasa_model.exists():
        try:
            return RasaClassifier.from_container(container)
        except Exception as exc:  # noqa: BLE001 - any failure to load falls back, loudly
            log.warning("Rasa classifier unavailable (%s); using keywords", exc)
    return KeywordClassifier(container.catalog)


def is_model_classifier(classifier: Classifier) -> bool:
    return not isinstance(classifier, KeywordClassifier)
