"""The text models are fitted before the first resident needs them (bot/nlu/warm.py)."""
from __future__ import annotations

from bot.nlu import case_type, safety_model, urgency, warm


def test_warming_fits_the_safety_and_type_models(monkeypatch):
    monkeypatch.setattr(case_type, "_model", None)
    safety_model.crisis_model.cache_clear()
    safety_model.emergency_model.cache_clear()
    warm.warm_in_background().join(120)
    rules = urgency.load_rules()
    assert case_type._model is not None
    assert safety_model.crisis_model.cache_info().currsize == 1
    assert safety_model.emergency_model.cache_info().currsize == 1
    assert safety_model.crisis_model(rules.model_dir) is not None     # the cached one, no refit
    assert safety_model.crisis_model.cache_info().hits >= 1
