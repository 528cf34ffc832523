"""The reference classifier: TF-IDF over character n-grams + a linear SVM (scikit-learn).

It is the honest yardstick for every figure on real data: trained on part of a labelled set and
tested on the rest, it shows what an in-domain model reaches, so the shipped model (which never
saw that set) and `bot train --history` are reported beside it on the same split or folds.
"""
from __future__ import annotations

import random
from collections.abc import Sequence

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC


class TfidfSvmBaseline:
    """Character 1–3-gram TF-IDF (sublinear tf) and a class-balanced LinearSVC."""

    def __init__(self, c: float = 1.0, ngram_range: tuple[int, int] = (1, 3)) -> None:
        self.pipeline = Pipeline([
            ("tfidf", TfidfVectorizer(analyzer="char", ngram_range=ngram_range, sublinear_tf=True,
                                      min_df=1, max_features=300_000)),
            ("svm", LinearSVC(C=c, class_weight="balanced")),
        ])

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> "TfidfSvmBaseline":
        if len(set(labels)) < 2:
            raise ValueError("the baseline needs at least two classes")
        self.pipeline.fit(list(texts), list(labels))
        return self

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [str(label) for label in self.pipeline.predict(list(texts))] if texts else []


def split(n: int, test_share: float = 0.2, seed: int = 7) -> tuple[list[int], list[int]]:
    """Indices of a seeded random train/test split of n items."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    cut = int(round(n * (1 - test_share)))
    return sorted(order[:cut]), sorted(order[cut:])
