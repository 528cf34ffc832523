"""The classifier the intake uses: the trained Rasa model when there is one, else keywords."""
from __future__ import annotations

import logging

from bot.nlu import Classification, Classifier, KeywordClassifier
from bot.nlu.rasa import HttpParser, ParserError, RasaClassifier

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


class ServerClassifier:
    """The running Rasa server's model, for the app under `bot run`: one model per machine
    instead of a second copy loaded by the transcript page. While the server is down or still
    loading, keywords answer (the low confidence makes the page ask the operator to check)."""

    def __init__(self, catalog, rasa_url: str, timeout: float = 10.0) -> None:
        self.model = RasaClassifier(catalog, HttpParser(rasa_url, timeout=timeout))
        self.keywords = KeywordClassifier(catalog)
        self.uses_model = True          # whether the last answer came from the model

    def classify(self, texts: list[str]) -> list[Classification]:
        try:
            results = self.model.classify(texts)
        except ParserError as exc:
            log.warning("Rasa server unavailable for the intake (%s); using keywords", exc)
            self.uses_model = False
            return self.keywords.classify(texts)
        self.uses_model = True
        return results

    def close(self) -> None:
        self.model.close()
