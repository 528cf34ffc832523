"""The real development set (../shared/data/gov-messages) must never be copied into the repository.

Every text file the repository ships (training data, test sets, docs, code) is scanned for runs of
characters it shares with the dev set's messages. A shared run of RUN characters (masks, digits,
punctuation and spaces ignored) is treated as a copy or a near-copy.
"""
from __future__ import annotations

import re
import subprocess

import os

import pytest

from bot.nlu import devset
from bot.settings import ROOT

RUN = 14
_IGNORED = re.compile(r"[\s*＊\d０-９,，。.!！?？:：;；、\"'“”‘’()（）\[\]【】《》<>\-—_/\\|#~·…]+")
_SUFFIXES = (".yml", ".yaml", ".md", ".py", ".txt", ".csv", ".jsonl", ".json", ".html", ".js")
# Phrases that any Chinese letter to a government board uses; sharing them is not copying.
_COMMON = ("尊敬的领导您好", "希望相关部门", "希望有关部门", "请相关部门", "请有关部门")


def _core(text: str) -> str:
    return _IGNORED.sub("", text)


def _windows(text: str) -> set[str]:
    core = _core(text)
    return {core[i:i + RUN] for i in range(len(core) - RUN + 1)}


def _repo_text_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return [name for name in listed if name.endswith(_SUFFIXES)]


def test_no_repository_text_shares_a_long_run_with_the_dev_set():
    rows = devset_rows_or_skip()
    shared: set[str] = set()
    for text in (row[0] for row in rows):
        shared |= _windows(text)
    hits = []
    for name in _repo_text_files():
        try:
            content = (ROOT / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        for line_no, line in enumerate(content.splitlines(), 1):
            windows = _windows(line)
            found = next((w for w in windows & shared if not any(c in w for c in _COMMON)), None)
            if found:
                hits.append(f"{name}:{line_no}: …{found}…")
    assert not hits, "text shared with the real dev set (never copy it):\n" + "\n".join(hits[:40])


def test_the_guard_sees_a_copy():
    rows = devset_rows_or_skip()
    sample = next(text for text, *_ in rows if len(_core(text)) > RUN + 10)
    assert _windows("开头" + sample + "结尾") & _windows(sample)
    assert not _windows("路灯坏了好几天了没人修，晚上黑漆漆的很危险") & _windows(sample)


def devset_rows_or_skip() -> list[tuple[str]]:
    if not devset.CSV_PATH.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the development set is missing at {devset.CSV_PATH}")
        pytest.skip(f"the development set is not on this machine ({devset.CSV_PATH})")
    return [(row.text,) for row in devset.load()]
