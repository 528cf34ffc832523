"""A second opinion beside the safety rules: character n-gram classifiers of emergencies, and of
self-harm and threats (`CrisisModel`, below).

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

import re
from functools import lru_cache
from pathlib import Path

import yaml

THRESHOLD = 0.5
CONCERNS = ("self_harm", "threat")
_SENTENCE = re.compile(r"[。！？!?\n；;]")
CRISIS_LABELS = {"self_harm": "self_harm", "crisis": "self_harm", "suicide": "self_harm", "threat": "threat"}


def _vectorise(texts: list[str]):
    """A character 1-3-gram TF-IDF vectoriser fitted on `texts`, and their matrix."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    return vectorizer, vectorizer.fit_transform(texts)


def _classifier(matrix, labels: list):
    """The linear classifier both models use, fitted on `matrix` and `labels`."""
    from sklearn.svm import LinearSVC

    return LinearSVC(C=0.5, class_weight="balanced").fit(matrix, labels)


def _items(path: Path) -> list[dict]:
    """The `items` of one safety example file."""
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("items") or []



class EmergencyModel:
    def __init__(self, texts: list[str], labels: list[bool], hotlines: list[str | None]) -> None:
        self.vectorizer, matrix = _vectorise(texts)
        self.detector = _classifier(matrix, labels)
        urgent = [i for i, label in enumerate(labels) if label and hotlines[i]]
        self.numbers = _classifier(matrix[urgent], [hotlines[i] for i in urgent])

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
        for item in _items(path):
            texts.append(normalize(str(item["text"])))
            labels.append(item.get("label") == "emergency")
            hotlines.append(str(item["hotline"]) if item.get("hotline") else None)
    if len(set(labels)) < 2:
        return None
    return EmergencyModel(texts, labels, hotlines)


class CrisisModel:
    """Self-harm and threats, one linear classifier each, read sentence by sentence so that a
    line of despair inside a long letter is read on its own. Only a sentence holding a cue (a
    word of death, harm, a weapon, a farewell: `crisis_model.cues` in data/safety.yml) is
    scored, so a letter about roads or schools is never one. Texts are normalised and their
    figures of speech blanked ("累死了") before training and scoring alike."""

    def __init__(self, texts: list[str], labels: list[str], cues: re.Pattern, threshold: float) -> None:
        self.cues, self.threshold = cues, threshold
        self.vectorizer, matrix = _vectorise(texts)
        self.detectors = {kind: _classifier(matrix, [label == kind for label in labels])
                          for kind in CONCERNS}

    def units(self, text: str) -> list[str]:
        """The whole text and, when it has several, each sentence of at least 6 characters;
        only those holding a cue."""
        sentences = [s for s in _SENTENCE.split(text) if len(s.strip()) >= 6]
        units = [text] + (sentences if len(sentences) > 1 else [])
        return [u for u in units if self.cues.search(u)]

    def scores(self, text: str) -> dict[str, float]:
        units = self.units(text)
        if not units:
            return {kind: float("-inf") for kind in CONCERNS}
        rows = self.vectorizer.transform(units)
        return {kind: float(d.decision_function(rows).max()) for kind, d in self.detectors.items()}

    def concerns(self, text: str) -> tuple[str, ...]:
        """'self_harm' and/or 'threat' when `text` (normalised, figures blanked) clearly says so."""
        return tuple(kind for kind, score in self.scores(text).items() if score > self.threshold)


def crisis_examples(directory: Path) -> tuple[list[str], list[str]]:
    """(texts, labels) of `directory`/safety_examples/: the crisis sets, and the emergency sets'
    non-emergencies as more everyday negatives. Texts as written; labels 'self_harm', 'threat'
    or 'none'."""
    texts, labels = [], []
    folder = directory / "safety_examples"
    for path in sorted(folder.glob("crisis_*.yml")):
        for item in _items(path):
            texts.append(str(item["text"]))
            labels.append(CRISIS_LABELS.get(str(item.get("label")), "none"))
    for path in sorted(folder.glob("urgency_*.yml")):
        for item in _items(path):
            if item.get("label") != "emergency":
                texts.append(str(item["text"]))
                labels.append("none")
    return texts, labels


@lru_cache(maxsize=4)
def crisis_model(directory: Path) -> CrisisModel | None:
    """The model fitted on `directory`/safety_examples/ with the rules' cues and threshold (None
    without examples of both kinds, or without `crisis_model` in the rules)."""
    from bot.nlu.urgency import load_rules, prepare

    texts, labels = crisis_examples(directory)
    if not all(kind in labels for kind in CONCERNS) or "none" not in labels:
        return None
    rules = load_rules(directory)
    if rules.crisis_cues is None:
        return None
    return CrisisModel([prepare(t, rules) for t in texts], labels, rules.crisis_cues, rules.crisis_threshold)
