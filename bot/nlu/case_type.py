"""The 12345 type of a case: 咨询, 求助, 投诉, 举报, 建议 or 表扬, predicted from its text.

A small linear model (TF-IDF over character 1- to 3-grams, LinearSVC) trained on the
sentences of `data/case_types.yml`, plus cue words that 12345 practice reads as the type
(请问 → 咨询, 建议 → 建议, 拖欠/投诉 → 投诉, 举报 → 举报 …) added to the model's scores. A letter
often opens with the trouble and ends with the ask, so a few cues count again when they are in
its ending sentence (a question there → 咨询, a proposal → 建议, a plea to solve it → 投诉).
It runs in the app environment without Rasa and trains in well under a second, on first use.

Measured on the real development set by `bench/case_type.py` (see docs there).
"""
from __future__ import annotations

import math
import re
import threading
from array import array
from dataclasses import dataclass
from pathlib import Path

import yaml

CASE_TYPES = ("咨询", "求助", "投诉", "举报", "建议", "表扬")
DATA_FILE = Path(__file__).resolve().parents[2] / "data" / "case_types.yml"
CUE_WEIGHT = 0.8
# Character n-gram lengths. Trigrams (不作为, 何时能, 想咨询 …) began to pay once the training
# file passed about a thousand sentences: dev-set odd ids 0.798 -> 0.800, even 0.789 -> 0.792.
NGRAMS = (1, 2, 3)

# (type, weight, pattern): what a 12345 operator reads as the type, whatever the topic.
_CUES = [
    ("咨询", 1.0, r"请问|想咨询|咨询一下|想了解|问一下|想问"),
    ("咨询", 0.5, r"何时|什么时候|是否|有没有|吗[？?]|[？?]"),
    ("建议", 1.0, r"建议|倡议|呼吁|提议"),
    ("建议", 0.5, r"全国|国家|出台|政策|制度|机制|推广"),
    ("建议", 0.3, r"可否|能否|应当|应该"),
    ("建议", 0.4, r"提高|降低|增加|增设|完善|优化|放宽|鼓励|统一|取消|调整|加快"),
    ("咨询", 0.4, r"计划|进展|如何|哪里|想知道|何时|拆迁|规划"),
    ("投诉", 0.3, r"严重影响|本人|欺骗|欺诈|骗|违建"),
    ("投诉", 1.0, r"投诉|拖欠|欠薪|不作为|扰民|退款|退费"),
    ("投诉", 0.5, r"多次|至今|一直|物业|噪音|违章|违规|没人管|无人管|推脱|敷衍"),
    ("投诉", 0.3, r"\d{4}年\d{1,2}月|\d+元"),
    ("投诉", 0.4, r"\d{1,2}月|\d{1,2}日|\d+元"),        # a dated grievance, a sum of money
    ("投诉", 0.75, r"物业|诉求|业主|开发商|商家|押金"),
    ("建议", 0.4, r"部长|总理|国务院|两会|人大代表|政协委员|我国"),   # a national addressee
    ("求助", 1.0, r"求助|求帮|帮帮|救助"),
    ("举报", 1.0, r"举报"),
    ("表扬", 1.0, r"表扬|点赞|感谢.{0,30}(?:帮|解决|办)"),
]
# The same, read in the ending sentence only (see `ending_sentence`).
_ENDING_CUES = [
    ("咨询", 0.4, r"[？?]"),
    ("建议", 0.4, r"建议|出台|国家|考虑|规范|全国"),
    ("投诉", 0.4, r"解决|帮帮|帮助|做主|处理|严查|查处|退"),
]
_CUE_PATTERNS = [(t, w, re.compile(p)) for t, w, p in _CUES]
_ENDING_PATTERNS = [(t, w, re.compile(p)) for t, w, p in _ENDING_CUES]
_SENTENCE = re.compile(r"[^。！？!?\n；;]+[。！？!?；;]*")
_COURTESY_TAIL = re.compile(   # thanks and sign-offs after the ask
    r"(?:[，,。.！!\s*]*(?:谢谢|感谢|万分感谢|非常感谢|此致|敬礼|辛苦了|麻烦了)"
    r"[^。！？!?]{0,12}[，,。.！!\s]*)+$")
_WHITESPACE = re.compile(r"\s\s+")    # what sklearn's char analyzer collapses


def ending_sentence(text: str) -> str:
    """The last sentence of `text` that says something, with its end mark (thanks dropped)."""
    text = _COURTESY_TAIL.sub("", text.strip()) or text.strip()
    sentences = [s for s in _SENTENCE.findall(text) if len(s.strip("*，, \n")) >= 2]
    return sentences[-1] if sentences else text


@dataclass(frozen=True)
class TypePrediction:
    type: str
    scores: dict[str, float]


class CaseTypeModel:
    def __init__(self, examples: dict[str, list[str]]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import LinearSVC

        unknown = set(examples) - set(CASE_TYPES)
        if unknown:
            raise ValueError(f"unknown case types in training data: {sorted(unknown)}")
        texts = [t for label in examples for t in examples[label]]
        labels = [label for label in examples for _ in examples[label]]
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(min(NGRAMS), max(NGRAMS)),
                                     sublinear_tf=True)
        svm = LinearSVC(C=1.0).fit(vectorizer.fit_transform(texts), labels)
        self._classes = [str(c) for c in svm.classes_]
        # Scoring one text through sklearn costs about a millisecond of overhead; the case
        # service scores every case it opens, so the fitted model is kept as plain Python:
        # n-gram → row, and flat arrays of the rows' idf and per-class weights (a tuple per
        # n-gram cost twice the memory: ~21 MB for the ~48k 1- to 3-grams, now ~10 MB).
        # `_scores` reproduces decision_function exactly.
        self._index = {str(gram): int(i) for gram, i in vectorizer.vocabulary_.items()}
        self._idf = array("d", vectorizer.idf_.tolist())
        self._coef = array("d", svm.coef_.T.ravel().tolist())   # row-major: gram, then class
        self._intercept = tuple(float(b) for b in svm.intercept_)
        self._sklearn = (vectorizer, svm)   # kept for tests that compare the two paths

    @classmethod
    def from_file(cls, path: Path = DATA_FILE) -> "CaseTypeModel":
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls({str(k): [str(s) for s in v] for k, v in data.items()})

    def _scores(self, text: str) -> list[float]:
        """TF-IDF (sublinear tf, L2-normalised) of the character n-grams · weights."""
        text = _WHITESPACE.sub(" ", text.lower())
        counts: dict[str, int] = {}
        for n in NGRAMS:
            for i in range(len(text) - n + 1):
                gram = text[i:i + n]
                counts[gram] = counts.get(gram, 0) + 1
        index, idf, coef = self._index, self._idf, self._coef
        features = []
        for gram, count in counts.items():
            row = index.get(gram)
            if row is not None:
                features.append(((1.0 + math.log(count)) * idf[row], row))
        norm = math.sqrt(sum(value * value for value, _ in features)) or 1.0
        scores = list(self._intercept)
        width = len(scores)
        for value, row in features:
            value /= norm
            start = row * width
            for k in range(width):
                scores[k] += value * coef[start + k]
        return scores

    def predict_many(self, texts: list[str]) -> list[TypePrediction]:
        out = []
        for text in texts:
            scores = dict(zip(self._classes, self._scores(text)))
            ending = ending_sentence(text)
            for patterns, where in ((_CUE_PATTERNS, text), (_ENDING_PATTERNS, ending)):
                for label, weight, pattern in patterns:
                    if label in scores and pattern.search(where):
                        scores[label] += CUE_WEIGHT * weight
            out.append(TypePrediction(max(scores, key=scores.get), scores))
        return out

    def predict(self, text: str) -> str:
        return self.predict_many([text])[0].type


_model: CaseTypeModel | None = None
_lock = threading.Lock()


def model() -> CaseTypeModel:
    """The shared model, trained once per process on first use."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                _model = CaseTypeModel.from_file()
    return _model


def predict_case_type(text: str | None) -> str:
    """The 12345 type of `text`; 咨询 for an empty text (nothing to complain of)."""
    if not text or not text.strip():
        return "咨询"
    return model().predict(text)
