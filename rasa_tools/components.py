"""Custom Rasa 3.6 NLU component (runs in the Rasa environment, Python 3.10).

`SparseLinearClassifier` classifies the dialogue intent AND the category of a report with two
linear SVMs over sparse TF-IDF features (characters 1-2, jieba words, one pseudo-token per
matching regex/lookup of data/nlu/entities.yml, and the length of the text). The intent goes
where every Rasa intent classifier writes it (`intent`, `intent_ranking`); the category goes
to `report_category`:

    {"code": "env.noise", "confidence": 0.93, "ranking": [{"code", "confidence"}, ...],
     "level1": "环境保护", "level1_confidence": 0.95}

Categories are learnt from the `report` examples whose intent block carries
`metadata: {category: <code>}` (data/nlu/report_*.yml). They are deliberately not Rasa
retrieval intents (`report/<code>`): Rasa 3.6 merges a retrieval intent into the domain a
second time and `rasa data validate` then warns about its own merge, and nothing here needs
the ResponseSelector's responses.

First level (一级). An agency's history is often labelled with first-level names only
(`metadata: {level1: 城乡建设}`, written by `bot train --history`). When the training data has
such examples, a third linear model, the first-level head, is trained on every report example
(the 一级 of its category, read from the taxonomy, or its own `level1`; report examples that are
not history rows, `metadata: {source: history}`, weigh `shipped_level1_weight`); at prediction
the first level comes from that head and the category is the best-ranked one inside it (the ranking lists
that level's categories first). Without first-level-only examples there is no head and the first
level is the one whose categories together are most probable: its best category ranks first, the
others follow by their own probability. Category codes the taxonomy does not know are not learnt
(they could not be routed). The taxonomy is `config["taxonomy"]`, else
`$BOT_DATA_DIR/taxonomy.yml`, else data/taxonomy.yml of this project.

Why a linear model: on this project's data it is more accurate than DIET + ResponseSelector
and trains in seconds instead of tens of minutes on two shared cores (docs/nlu.md).

Confidences are a softmax over the SVM scores with a temperature fitted by 3-fold
cross-validation (minimum log-loss), so the FallbackClassifier threshold means something.
Persistence is plain JSON + NumPy arrays: no pickles in the model archive.
"""
from __future__ import annotations

import json
import logging
import math
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

import numpy as np
import scipy.sparse as sp
import yaml
import zhconv
from sklearn.svm import LinearSVC

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
_WORDLIKE = re.compile(r"[^\W_]", re.UNICODE)
# A phone, ID, account or order number says "a number", not which: one shape for all, so that
# "户号3301234567，我家停水三天了" is read by its words, not by ten digits that look like an answer
# to "您的电话是？".
_LONG_NUMBER = re.compile(r"\d{17}[\dXx]|\d{5,}")
NUMBER_SHAPE = "00000"
_PROJECT = Path(__file__).resolve().parent.parent


def taxonomy_level1(path: Optional[str] = None) -> Dict[str, str]:
    """code → 一级 of the taxonomy file ({} when there is none or it cannot be read)."""
    if path:
        candidate = Path(path)
    elif os.environ.get("BOT_DATA_DIR"):
        candidate = Path(os.environ["BOT_DATA_DIR"]) / "taxonomy.yml"
    else:
        candidate = _PROJECT / "data" / "taxonomy.yml"
    try:
        doc = yaml.safe_load(candidate.read_text(encoding="utf-8")) or {}
        return {str(c["code"]): str(c["level1"]) for c in doc.get("categories") or []}
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        logger.warning("no taxonomy at %s (%s): every category code is learnt, no first level",
                       candidate, exc)
        return {}


class SparseFeatures:
    """TF-IDF over character n-grams, word tokens and pseudo-tokens; l2-normalised rows."""

    def __init__(self, char_ngrams: tuple[int, int] = (1, 2), min_df: int = 1) -> None:
        self.char_ngrams = char_ngrams
        self.min_df = min_df
        self.vocabulary: Dict[str, int] = {}
        self.idf: np.ndarray = np.zeros(0)

    def terms(self, text: str, tokens: List[str], extra: List[str]) -> List[str]:
        # Traditional script is read as simplified (社區門口的路燈壞了 is 社区门口的路灯坏了): the
        # training data is simplified, the message itself stays as the resident wrote it.
        text = zhconv.convert(_LONG_NUMBER.sub(NUMBER_SHAPE, text), "zh-cn").lower()
        tokens = [zhconv.convert(_LONG_NUMBER.sub(NUMBER_SHAPE, t), "zh-cn") for t in tokens]
        out = []
        lo, hi = self.char_ngrams
        for chunk in _PUNCT.split(text):
            if not chunk:
                continue
            padded = f" {chunk} "
            for n in range(lo, hi + 1):
                grams = padded if n > 1 else chunk
                out.extend("c:" + grams[i:i + n] for i in range(len(grams) - n + 1))
        out.extend("w:" + t.lower() for t in tokens if not _PUNCT.fullmatch(t))
        out.extend("x:" + e for e in extra)
        return out

    def fit(self, documents: List[List[str]]) -> "SparseFeatures":
        df = Counter(term for doc in documents for term in set(doc))
        terms = sorted(t for t, c in df.items() if c >= self.min_df)
        self.vocabulary = {t: i for i, t in enumerate(terms)}
        n = len(documents)
        self.idf = np.array([math.log((1 + n) / (1 + df[t])) + 1.0 for t in terms])
        return self

    def transform(self, documents: List[List[str]]) -> sp.csr_matrix:
        rows, cols, vals = [], [], []
        for r, doc in enumerate(documents):
            counts = Counter(self.vocabulary[t] for t in doc if t in self.vocabulary)
            if not counts:
                continue
            idx = np.fromiter(counts.keys(), dtype=np.int64)
            tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64))
            weights = tf * self.idf[idx]
            weights /= np.linalg.norm(weights) or 1.0
            rows.extend([r] * len(idx))
            cols.extend(idx.tolist())
            vals.extend(weights.tolist())
        return sp.csr_matrix((vals, (rows, cols)), shape=(len(documents), len(self.vocabulary)))

    def to_dict(self) -> dict:
        return {"char_ngrams": list(self.char_ngrams), "min_df": self.min_df,
                "terms": sorted(self.vocabulary, key=self.vocabulary.get)}

    @classmethod
    def from_dict(cls, data: dict, idf: np.ndarray) -> "SparseFeatures":
        features = cls(tuple(data["char_ngrams"]), data["min_df"])
        features.vocabulary = {t: i for i, t in enumerate(data["terms"])}
        features.idf = idf
        return features


class LinearModel:
    """One-vs-rest linear SVM with temperature-scaled softmax confidences."""

    def __init__(self, classes: List[str], coef: np.ndarray, intercept: np.ndarray,
                 temperature: float) -> None:
        self.classes = classes
        self.coef = coef
        self.intercept = intercept
        self.temperature = temperature

    @classmethod
    def fit(cls, X: sp.csr_matrix, y: List[str], c: float, seed: int,
            weights: Optional[np.ndarray] = None) -> "LinearModel":
        classes = sorted(set(y))
        if len(classes) == 1:
            return cls(classes, np.zeros((1, X.shape[1])), np.zeros(1), 1.0)
        svm = LinearSVC(C=c, class_weight="balanced", random_state=seed, max_iter=5000)
        svm.fit(X, y, sample_weight=weights)
        coef = svm.coef_ if len(classes) > 2 else np.vstack([-svm.coef_, svm.coef_])
        intercept = svm.intercept_ if len(classes) > 2 else np.hstack([-svm.intercept_, svm.intercept_])
        model = cls(list(svm.classes_), coef, intercept, 1.0)
        model.temperature = cls._fit_temperature(X, y, c, seed, weights)
        return model

    @staticmethod
    def _fit_temperature(X: sp.csr_matrix, y: List[str], c: float, seed: int,
                         weights: Optional[np.ndarray] = None) -> float:
        """The softmax scale with the lowest cross-validated log-loss."""
        labels = np.array(y)
        order = np.random.RandomState(seed).permutation(len(y))
        folds = np.array_split(order, 3)
        scores, gold = [], []
        for k in range(3):
            test = folds[k]
            train = np.hstack([folds[j] for j in range(3) if j != k])
            if len(set(labels[train])) < len(set(labels)):
                continue
            svm = LinearSVC(C=c, class_weight="balanced", random_state=seed, max_iter=5000)
            svm.fit(X[train], labels[train],
                    sample_weight=None if weights is None else weights[train])
            decision = svm.decision_function(X[test])
            if decision.ndim == 1:
                decision = np.vstack([-decision, decision]).T
            index = {name: i for i, name in enumerate(svm.classes_)}
            scores.append(decision)
            gold.extend(index[name] for name in labels[test])
        if not scores:
            return 5.0
        decision, gold = np.vstack(scores), np.array(gold)
        best, best_loss = 5.0, float("inf")
        for scale in (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20):
            z = decision * scale
            z -= z.max(axis=1, keepdims=True)
            log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
            loss = -log_p[np.arange(len(gold)), gold].mean()
            if loss < best_loss:
                best, best_loss = float(scale), loss
        return best

    def predict(self, X: sp.csr_matrix) -> np.ndarray:
        z = (X @ self.coef.T + self.intercept) * self.temperature
        z = np.asarray(z)
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SparseLinearClassifier(IntentClassifier, GraphComponent):
    """Intent + report-category classifier on sparse features; see module doc."""

    @classmethod
    def required_components(cls) -> List[type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "report_intent": "report",      # the intent whose examples carry a category
            "category_key": "category",     # ... under metadata: {<category_key>: <code>}
            "level1_key": "level1",         # first-level-only examples: metadata: {level1: 城乡建设}
            "taxonomy": None,               # taxonomy file (default: see module doc)
            "classify_intents": True,       # False: only the category (another intent classifier)
            "char_ngrams": [1, 2],
            "min_df": 1,
            "intent_c": 1.0,
            "category_c": 1.0,
            "level1_c": 1.0,
            # Weight, in the first-level head, of report examples that are not history rows
            # (metadata source: history): where an agency files a matter under another first
            # level than our data does, its history decides.
            "shipped_level1_weight": 0.25,
            "ranking_length": 10,
            "random_seed": 7,
        }

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage,
                 resource: Resource) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.features: Optional[SparseFeatures] = None
        self.patterns: List[tuple[str, re.Pattern]] = []
        self.intent_model: Optional[LinearModel] = None
        self.category_model: Optional[LinearModel] = None
        self.level1_model: Optional[LinearModel] = None
        self.category_level1: Dict[str, str] = {}    # code → 一级 of every learnt category

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "SparseLinearClassifier":
        return cls(config, model_storage, resource)

    # ------------------------------------------------------------------ features
    @staticmethod
    def _compile_patterns(training_data: TrainingData) -> List[tuple[str, re.Pattern]]:
        patterns = []
        for regex in training_data.regex_features:
            try:
                patterns.append((regex["name"], re.compile(regex["pattern"])))
            except re.error:
                logger.warning("skipping invalid regex %s", regex["name"])
        for table in training_data.lookup_tables:
            items = [str(e) for e in table.get("elements") or [] if str(e).strip()]
            if items:
                items.sort(key=len, reverse=True)
                patterns.append((table["name"], re.compile("|".join(map(re.escape, items)))))
        return patterns

    def _extra(self, text: str) -> List[str]:
        extra = sorted({name for name, pattern in self.patterns if pattern.search(text)})
        n = len(text)
        extra.append("len:s" if n <= 6 else "len:m" if n <= 20 else "len:l")
        return extra

    def _terms(self, message: Message) -> List[str]:
        text = message.get("text") or ""
        tokens = [t.text for t in message.get("text_tokens") or []]
        return self.features.terms(text, tokens, self._extra(text))

    def _metadata(self, message: Message, key: str) -> Optional[str]:
        """A value of the example's metadata, else of its intent block's."""
        metadata = message.get("metadata") or {}
        for scope in (metadata.get("example"), metadata.get("intent")):
            if isinstance(scope, dict) and scope.get(key):
                return str(scope[key])
        return None

    def _category(self, message: Message) -> Optional[str]:
        """The category code of a training example: metadata of its intent block."""
        return self._metadata(message, self.config["category_key"])

    # ------------------------------------------------------------------ training
    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get("text")]
        if not examples:
            logger.warning("no intent examples: SparseLinearClassifier is not trained")
            return self._resource
        seed = self.config["random_seed"]
        self.patterns = self._compile_patterns(training_data)
        self.features = SparseFeatures(tuple(self.config["char_ngrams"]), self.config["min_df"])
        documents = [self._terms(m) for m in examples]
        self.features.fit(documents)
        X = self.features.transform(documents)
        if self.config["classify_intents"]:
            self.intent_model = LinearModel.fit(X, [m.get("intent") for m in examples],
                                                self.config["intent_c"], seed)
        self._train_categories(examples, X, seed)
        self.persist()
        return self._resource

    def _train_categories(self, examples: List[Message], X: sp.csr_matrix, seed: int) -> None:
        """The category model on coded report examples; the first-level head when some report
        examples name only a first level."""
        known = taxonomy_level1(self.config["taxonomy"])
        reports = [(i, m) for i, m in enumerate(examples)
                   if m.get("intent") == self.config["report_intent"]]
        labelled = [(i, self._category(m)) for i, m in reports]
        labelled = [(i, code) for i, code in labelled if code]
        if known:
            unknown = Counter(code for _, code in labelled if code not in known)
            if unknown:
                logger.warning("category codes not in the taxonomy are not learnt: %s",
                               dict(unknown.most_common(10)))
            labelled = [(i, code) for i, code in labelled if code in known]
        if labelled:
            self.category_model = LinearModel.fit(
                X[[i for i, _ in labelled]], [code for _, code in labelled],
                self.config["category_c"], seed)
            self.category_level1 = {code: known[code] for code in self.category_model.classes
                                    if code in known}
        codes = dict(labelled)
        level1_only = [(i, self._metadata(m, self.config["level1_key"])) for i, m in reports
                       if i not in codes]
        level1_only = [(i, name) for i, name in level1_only
                       if name and name in set(self.category_level1.values())]
        if not level1_only:
            return
        rows = sorted([(i, self.category_level1[code]) for i, code in codes.items()
                       if code in self.category_level1] + level1_only)
        history = {i for i, m in reports if self._metadata(m, "source") == "history"}
        history |= {i for i, _ in level1_only}
        weights = np.array([1.0 if i in history else self.config["shipped_level1_weight"]
                            for i, _ in rows])
        self.level1_model = LinearModel.fit(X[[i for i, _ in rows]], [name for _, name in rows],
                                            self.config["level1_c"], seed, weights)

    # ------------------------------------------------------------------ prediction
    def process(self, messages: List[Message]) -> List[Message]:
        if self.features is None:
            return messages
        X = self.features.transform([self._terms(m) for m in messages])
        length = self.config["ranking_length"]
        # Nothing to go on (empty, blanks, emoji only): every confidence 0, so the
        # FallbackClassifier turns it into nlu_fallback instead of a guess from the priors.
        blank = [not _WORDLIKE.search(m.get("text") or "") for m in messages]
        if self.intent_model is not None:
            predictions = self.intent_model.predict(X)
            predictions[blank] = 0.0
            for message, probs in zip(messages, predictions):
                ranking = sorted(({"name": c, "confidence": float(p)} for c, p in
                                  zip(self.intent_model.classes, probs)),
                                 key=lambda item: -item["confidence"])
                message.set("intent", ranking[0], add_to_output=True)
                message.set("intent_ranking", ranking[:length], add_to_output=True)
        if self.category_model is not None:
            predictions = self.category_model.predict(X)
            predictions[blank] = 0.0
            heads = None
            if self.level1_model is not None:
                heads = self.level1_model.predict(X)
                heads[blank] = 0.0
            for row, (message, probs) in enumerate(zip(messages, predictions)):
                self._set_category(message, probs, None if heads is None else heads[row], length)
        return messages

    def _set_category(self, message: Message, probs: np.ndarray, head: Optional[np.ndarray],
                      length: int) -> None:
        classes = self.category_model.classes
        if head is None:
            # The first level is the one with the most probability in all its categories, not
            # the level of the single best category: a long letter about a street spreads over
            # 市政设施, 规划建设, 物业 ..., and one category of another level must not win over
            # them all. The best category inside that level comes first, then every other
            # category by its own probability (the runners-up may lie in another level).
            totals: Dict[str, float] = {}
            for code, p in zip(classes, probs):
                name = self.category_level1.get(code)
                if name is not None:
                    totals[name] = totals.get(name, 0.0) + float(p)
            if totals and max(totals.values()) > 0.0:
                level1 = max(totals, key=totals.get)
                level1_confidence = totals[level1]
                order = np.argsort(-probs, kind="stable")
                first = next(i for i in order if self.category_level1.get(classes[i]) == level1)
                order = np.concatenate(([first], order[order != first]))
            else:
                order = np.argsort(-probs)
                level1 = self.category_level1.get(classes[order[0]])
                level1_confidence = 0.0
        else:
            # P(code) = P(一级 | head) × P(code | category model, within that 一级); the
            # head's best first level comes first, so the best category lies inside it.
            best = int(np.argmax(head))
            level1, level1_confidence = self.level1_model.classes[best], float(head[best])
            weight = dict(zip(self.level1_model.classes, head))
            group = [self.category_level1.get(c) for c in classes]
            totals: Dict[str, float] = {}
            for name, p in zip(group, probs):
                totals[name] = totals.get(name, 0.0) + float(p)
            probs = np.array([weight.get(name, 0.0) * p / totals[name] if totals[name] else 0.0
                              for name, p in zip(group, probs)])
            inside = np.array([name == level1 for name in group])
            order = np.lexsort((-probs, ~inside))
        order = order[:length]
        ranking = [{"code": classes[i], "confidence": float(probs[i])} for i in order]
        message.set("report_category", {**ranking[0], "ranking": ranking, "level1": level1,
                                        "level1_confidence": level1_confidence},
                    add_to_output=True)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    # ------------------------------------------------------------------ persistence
    def persist(self) -> None:
        if self.features is None:
            return
        with self._model_storage.write_to(self._resource) as directory:
            meta = {"features": self.features.to_dict(),
                    "patterns": [[name, p.pattern] for name, p in self.patterns],
                    "category_level1": self.category_level1,
                    "models": {}}
            arrays = {"idf": self.features.idf}
            for key, model in (("intent", self.intent_model), ("category", self.category_model),
                               ("level1", self.level1_model)):
                if model is not None:
                    meta["models"][key] = {"classes": model.classes,
                                           "temperature": model.temperature}
                    arrays[f"{key}_coef"] = model.coef
                    arrays[f"{key}_intercept"] = model.intercept
            (directory / "meta.json").write_text(json.dumps(meta, ensure_ascii=False),
                                                 encoding="utf-8")
            np.savez_compressed(directory / "arrays.npz", **arrays)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "SparseLinearClassifier":
        component = cls(config, model_storage, resource)
        try:
            with model_storage.read_from(resource) as directory:
                meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
                arrays = np.load(directory / "arrays.npz", allow_pickle=False)
                component.features = SparseFeatures.from_dict(meta["features"], arrays["idf"])
                component.patterns = [(name, re.compile(p)) for name, p in meta["patterns"]]
                component.category_level1 = dict(meta.get("category_level1") or {})
                for key, info in meta["models"].items():
                    model = LinearModel(info["classes"], arrays[f"{key}_coef"],
                                        arrays[f"{key}_intercept"], info["temperature"])
                    setattr(component, f"{key}_model", model)
        except (ValueError, FileNotFoundError):
            logger.warning("SparseLinearClassifier: no trained model in %s", resource.name)
        return component
