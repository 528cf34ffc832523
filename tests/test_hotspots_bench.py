"""The hot-spot bench (bench/hotspots.py) is not kind to the method: besides its planted clusters
each generated month holds near misses that must raise no alert, and an alert about a decoy
counts as a wrong alert."""
from __future__ import annotations

from collections import Counter, defaultdict

from bench.hotspots import Truth, generate, judge
from bot.catalog import Catalog
from bot.cases import hotspots
from bot.settings import ROOT


def test_a_month_plants_nine_clusters_and_near_misses():
    catalog = Catalog.load(ROOT / "data")
    rows, truth = generate(catalog, per_day=5, seed=3)
    assert len(truth.planted) == 9 and len(truth.decoys) == 8
    calls = defaultdict(list)
    for row in rows:
        if row["number"] in truth.cluster_of:
            calls[truth.cluster_of[row["number"]]].append(row)
    residents = {k: len({r["address"] for r in v}) for k, v in calls.items()}
    assert all(5 <= residents[k] <= 12 for k in truth.planted)
    known = hotspots.known_places(catalog)
    stations = {k: {catalog.ancestor_at(r["area"], "station").code for r in v} for k, v in calls.items()}
    # the 站 pair: 3 and 3 residents of one matter in two 站
    assert any(len(s) == 2 and residents[k] == 6 for k, s in stations.items())
    # each of the everyday complaints names its own road
    everyday = truth.decoys[-1]
    places = [hotspots.named_places(r["text"], known) for r in calls[everyday]]
    assert residents[everyday] >= 5 and all(places)
    assert len({min(p) for p in places}) == residents[everyday]
    # the slow one: 6 residents, never 5 of them within a week
    slow = truth.decoys[-2]
    times = sorted(r["created_at"] for r in calls[slow])
    assert len(times) == 6 and all((b - a).days >= 2 for a, b in zip(times, times[1:]))


def test_an_alert_about_a_decoy_is_wrong():
    truth = Truth(cluster_of={"a": 0, "b": 0, "c": 1, "d": 1}, planted=[0], decoys=[1])
    assert judge([{"case_numbers": ["a", "b"]}, {"case_numbers": ["c", "d"]}], truth) == {
        "alerts": 2, "right": 1, "precision": 0.5, "recall": 1.0, "decoys_alerted": 1}
    assert Counter(truth.cluster_of.values()) == {0: 2, 1: 2}
