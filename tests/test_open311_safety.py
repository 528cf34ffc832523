"""The door's safety check (`bot.open311.door._safety`) skips scikit-learn's per-call checks
for speed: it must say exactly what `call_now` says, and leave sklearn's settings alone."""
from __future__ import annotations

import threading

import sklearn

from bot.channels.safety_notice import call_now
from bot.nlu.safety_model import _items
from bot.nlu.urgency import data_dir
from bot.open311.door import _safety


def test_the_fast_safety_check_says_what_call_now_says():
    folder = data_dir() / "safety_examples"
    texts = [str(item["text"]) for name in ("urgency_dev.yml", "crisis_dev.yml")
             for item in _items(folder / name)]
    assert len(texts) > 50
    urgent = 0
    for text in texts:
        fast, plain = _safety(text), call_now(text, do_not_wait_for="办理答复")
        assert (fast is None) == (plain is None), text
        if fast is not None:
            urgent += 1
            assert fast[0] == plain[0] and fast[1].level == plain[1].level
            assert fast[1].hotlines == plain[1].hotlines
    assert 10 < urgent < len(texts)            # both kinds were checked


def test_sklearn_settings_are_untouched_outside_the_check():
    seen = {}
    before = sklearn.get_config()
    _safety("家里着火了，楼道里全是烟")
    other = threading.Thread(target=lambda: seen.update(sklearn.get_config()))
    other.start(), other.join()
    assert sklearn.get_config() == before == seen
    assert not before["assume_finite"] and not before["skip_parameter_validation"]
