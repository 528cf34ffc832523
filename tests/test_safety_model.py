"""The classifier beside the safety rules (bot/nlu/safety_model.py): it speaks only where the
rules found nothing, and never over a reading the rules made on purpose."""
from __future__ import annotations

import dataclasses

from bot.nlu.safety_model import emergency_model
from bot.nlu.urgency import MODEL_REASON, assess, load_rules

RULES = load_rules()
RULES_ONLY = dataclasses.replace(RULES, model_dir=None)


def test_the_model_catches_an_emergency_the_rules_miss():
    text = "路边一个骑电动车的被挂倒了 躺着哼哼"
    assert assess(text, RULES_ONLY).level == "normal"
    safety = assess(text, RULES)
    assert safety.level == "emergency" and safety.reason == MODEL_REASON
    assert safety.hotline in {"110", "119", "120", "122"}


def test_the_model_never_overrides_feared_past_or_figurative_readings():
    for text in ("万一有人拿刀砍人怎么办", "上个月楼下着过火，到现在消防通道还堵着", "气得我要爆炸了",
                 "他拿着菜刀在厨房切菜", "楼下烧烤店半夜还很吵"):
        assert assess(text, RULES).level == assess(text, RULES_ONLY).level, text


def test_no_examples_no_model(tmp_path):
    assert emergency_model(tmp_path) is None
