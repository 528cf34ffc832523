"""A second opinion beside the safety rules: a character n-gram classifier of emergencies.

The rules (`bot.nlu.urgency`) read phrases; across authors they generalise less well than a
model trained on the same examples (trained on one author's set, the rules caught 79/105 of a
second author's emergencies, this classifier 101/105). So when the rules find nothing at all
(`normal`, never a feared, past or hazard reading, which the rules decided on purpose), a
message the classifier scores clearly as an emergency is one. The examples are
`data/safety_examples/urgency_*.yml`, written by two authors who never saw the code; the model
is fitted on first use (well under a second) and is pure scikit-learn, no files written.
The threshold was set without the blind test halves: at 0.5 none of the 11,518 real board
messages and none of the near misses of tests/test_nlu_urgency.py becomes an emergency (at 0.25,
8 board messages and "他拿着菜刀在厨房切菜" did).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

THRESHOLD = 0.5


class EmergencyModel:
    def __init__(self, texts: list[str], labels: list[bool], hotlines: list[str | None]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import LinearSVC

        self.vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
        matrix = self.vectorizer.fit_transform(texts)
        self.detector = LinearSVC(C=0.5, class_weight="balanced").fit(matrix, labels)
        urgent = [i for i, label in enumerate(labels) if label and hotlines[i]]
        self.numbers = LinearSVC(C=0.5, class_weight="balanced").fit(
            matrix[urgent], [hotlines[i] for i in urgent])

    def hotline(self, text: str) -> str | None:
        """The number to call when `text` is clearly an emergency, else None."""
        row = self.vectorizer.transform([text])
        if float(self.detector.decision_function(row)[0]) <= THRESHOLD:
            return None
        return str(self.numbers.predict(row)[0])


@lru_cache(maxsize=4)
def emergency_model(directory: Path) -> EmergencyModel | None:
    """The model fitted on `directory`/safety_examples/urgency_*.yml (None when there are none)."""
    from bot.nlu.urgency import normalize

    texts, labels, hotlines = [], [], []
    for path in sorted((directory / "safety_examples").glob("urgency_*.yml")):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("items") or []:
            texts.append(normalize(str(item["text"])))
            labels.append(item.get("label") == "emergency")
            hotlines.append(str(item["hotline"]) if item.get("hotline") else None)
    if len(set(labels)) < 2:
        return None
    return EmergencyModel(texts, labels, hotlines)
