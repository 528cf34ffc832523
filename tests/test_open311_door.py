"""The door's fast paths (bot/open311/door.py): the safety check skips scikit-learn's per-call
checks, yet says exactly what `call_now` says and leaves sklearn's settings alone; reads never
queue behind a write on SQLite."""
from __future__ import annotations

import threading
import time

import sklearn

from bot.channels.safety_notice import call_now
from bot.nlu.safety_model import _items
from bot.nlu.urgency import data_dir
from bot.open311.door import Open311Door, _safety
from bot.open311.keys import ApiKeys
from bot.open311.submission import Submission


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


def test_reads_answer_while_a_filing_holds_the_write_lock(sqlite_container):
    keys = ApiKeys(sqlite_container.engine)
    key = keys.create("city-app", sqlite_container.cases.clock())
    door = Open311Door(sqlite_container.cases, keys, "test.county")
    filed = door.submit(keys.find(key), Submission(service_code="env.noise", description="路灯不亮",
                                                   address_string="文化路"))
    held, done = threading.Event(), threading.Event()

    def writer():
        with sqlite_container.engine.connect() as conn:       # BEGIN IMMEDIATE, kept open
            conn.exec_driver_sql("UPDATE cases SET updated_at = updated_at")
            held.set()
            done.wait(20)
            conn.commit()
    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert held.wait(10)
        started = time.monotonic()
        assert door.one(filed.number)["service_request_id"] == filed.number
        assert door.token(filed.token)["service_request_id"] == filed.number
        assert [r["service_request_id"] for r in door.search(ids=[filed.number])] == [filed.number]
        door.updates(None, None)
        assert time.monotonic() - started < 2           # not the 30 s busy timeout
    finally:
        done.set()
        thread.join()
