"""Understanding residents' text: the category classifier shared by chat, transcripts and CLI.

Every consumer depends on the `Classifier` protocol. `KeywordClassifier` is the fallback that
needs no model; the Rasa-model classifier (issue 3) implements the same protocol.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Protocol

from bot.catalog import Catalog


@dataclass
class Alternative:
    code: str
    level1: str
    level2: str
    confidence: float


@dataclass
class Classification:
    code: str
    level1: str
    level2: str
    confidence: float
    alternatives: list[Alternative] = field(default_factory=list)   # top-3, best first
    body: dict | None = None                                        # {"code", "name"}

    def to_dict(self) -> dict:
        return asdict(self)


class Classifier(Protocol):
    def classify(self, texts: list[str]) -> list[Classification]: ...


def make_classification(catalog: Catalog, ranked: list[tuple[str, float]],
                        area: str | None = None) -> Classification:
    """Build a result from (code, confidence) pairs, best first."""
    alternatives = [Alternative(code, catalog.categories[code].level1,
                                catalog.categories[code].level2, round(conf, 4))
                    for code, conf in ranked[:3]]
    best = alternatives[0]
    body = catalog.route(best.code, area).body
    return Classification(best.code, best.level1, best.level2, best.confidence, alternatives,
                          {"code": body.code, "name": body.name})


class KeywordClassifier:
    """Counts taxonomy keywords in the text. A baseline and a fallback, not the product."""

    def __init__(self, catalog: Catalog, fallback: str = "other.misc") -> None:
        self.catalog = catalog
        self.fallback = fallback

    def classify(self, texts: list[str]) -> list[Classification]:
        results = []
        for text in texts:
            scores = {code: sum(len(k) for k in c.keywords if k in text)
                      for code, c in self.catalog.categories.items()}
            total = sum(scores.values())
            if total == 0:
                ranked = [(self.fallback, 0.0)]
            else:
                ranked = sorted(((c, s / total) for c, s in scores.items() if s),
                                key=lambda item: -item[1])
            results.append(make_classification(self.catalog, ranked))
        return results
