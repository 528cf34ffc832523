"""`/api/intake/confirm` takes only the urgency levels the system knows; anything else is a
400 in Chinese and opens nothing."""
from __future__ import annotations

import pytest

from tests.test_intake_web import NOISE, make_client


@pytest.fixture
def client(sqlite_container):
    return make_client(sqlite_container)


def _proposal(client) -> dict:
    r = client.post("/api/intake", content=NOISE.encode(), headers={"Content-Type": "text/plain"})
    assert r.status_code == 200
    return r.json()


@pytest.mark.parametrize("urgency", [{"level": "nuclear"}, "nuclear", {"level": "EMERGENCY"},
                                     {"level": "normal "}])
def test_an_unknown_urgency_correction_is_refused_and_opens_nothing(client, sqlite_container, urgency):
    r = client.post("/api/intake/confirm", json={"proposal": _proposal(client),
                                                 "corrections": {"urgency": urgency}})
    assert r.status_code == 400, r.text
    assert "紧急程度" in r.json()["error"]
    assert sqlite_container.cases.list_cases() == []


def test_an_unknown_urgency_in_the_proposal_is_refused(client, sqlite_container):
    proposal = _proposal(client)
    proposal["urgency"]["level"] = "nuclear"
    r = client.post("/api/intake/confirm", json={"proposal": proposal})
    assert r.status_code == 400 and "紧急程度" in r.json()["error"]
    assert sqlite_container.cases.list_cases() == []


@pytest.mark.parametrize("urgency", [{"level": "urgent"}, "urgent", {"level": ""}, {"level": None}])
def test_known_levels_and_an_empty_choice_are_taken(client, sqlite_container, urgency):
    r = client.post("/api/intake/confirm", json={"proposal": _proposal(client),
                                                 "corrections": {"urgency": urgency}})
    assert r.status_code == 200, r.text
    assert len(sqlite_container.cases.list_cases()) == 1
