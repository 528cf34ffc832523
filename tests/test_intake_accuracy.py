"""Field-level accuracy on the transcripts in tests/data/transcripts (issue #5 targets).

Phone, case number, place and emergencies must hold with any classifier. Category accuracy
depends on the classifier: it is asserted with the trained Rasa model (models/current.tar.gz)
and only reported with the keyword fallback.
"""
from __future__ import annotations

import pytest

from bot.intake.classifier import default_classifier, is_model_classifier
from bot.intake.service import IntakeService
from tests.intake_eval import evaluate, report

TARGETS = {"phone": 0.98, "case_number": 0.98, "area": 0.85, "emergency": 1.0}
CATEGORY_TARGET = 0.90


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    from tests.conftest import make_container

    tmp = tmp_path_factory.mktemp("accuracy")
    container = make_container(f"sqlite:///{tmp / 'cases.db'}", tmp)
    service = IntakeService.from_container(container, classifier=default_classifier(container))
    scores, errors = evaluate(service)
    print(f"\nclassifier: {type(service.classifier).__name__}\n{report(scores)}")
    yield service, scores, errors
    container.engine.dispose()


def test_no_transcript_fails(results):
    _, _, errors = results
    assert not errors


@pytest.mark.parametrize("field", sorted(TARGETS))
def test_field_accuracy(results, field):
    _, scores, _ = results
    score = scores[field]
    assert score.total > 0
    assert score.rate >= TARGETS[field], f"{field} {score.rate:.1%} < {TARGETS[field]:.0%}: {score.misses}"


def test_category_level1_accuracy(results):
    service, scores, _ = results
    score = scores["level1"]
    if not is_model_classifier(service.classifier):
        pytest.skip(f"category level-1 accuracy {score.rate:.1%} with the keyword fallback; the 90% target "
                    f"is checked with the Rasa classifier (needs bot.nlu RasaClassifier and models/current.tar.gz)")
    assert score.rate >= CATEGORY_TARGET, f"level1 {score.rate:.1%}: {score.misses}"
