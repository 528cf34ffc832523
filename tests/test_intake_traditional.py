"""Transcripts in traditional characters get the same urgency as in simplified ones, and keep
the caller's own characters in what the operator reads."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.catalog import Catalog
from bot.intake.extract import extract
from bot.intake.places import PlaceMatcher
from bot.intake.reader import read_text
from bot.settings import ROOT


@pytest.fixture(scope="module")
def places() -> PlaceMatcher:
    return PlaceMatcher(Catalog.load(Path(ROOT / "data")))


@pytest.mark.parametrize("traditional, simplified", [
    ("市民：我家樓下著火了，快派人來", "市民：我家楼下着火了，快派人来"),
    ("市民：樓道裡起火了，煙很大，有人被困在裡面", "市民：楼道里起火了，烟很大，有人被困在里面"),
])
def test_traditional_characters_are_as_urgent_as_simplified(places, traditional, simplified):
    expected = extract(read_text(simplified), places).urgency
    assert expected.level == "emergency"        # the control: the simplified words are heard
    found = extract(read_text(traditional), places)
    assert (found.urgency.level, found.urgency.hotline) == (expected.level, expected.hotline)


def test_the_callers_own_characters_are_kept(places):
    found = extract(read_text("市民：我家樓下著火了，快派人來"), places)
    assert "樓下著火" in found.caller_text and "樓" in found.summary
