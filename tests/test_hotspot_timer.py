"""The app's own timer raises hot-spot alerts (`bot run` needs no `bot hotspots --raise` beside
it): one pass records the planted cluster and notes the supervisors once; a replica that does
not hold the lease scans nothing; HOTSPOT_INTERVAL sets the pause (0 turns it off)."""
from __future__ import annotations

from bot.cases import hotspots
from bot.web.background import Background
from bot.web.config import WebSettings
from tests.test_supervision import LIFT, background, plant


def loops(container, interval: float = 900.0) -> Background:
    return Background(container, store=None, hub=None, relay=None, notifier_interval=1,
                      watchdog_interval=60, retry_interval=1, hotspot_interval=interval)


def test_one_pass_raises_the_alert_once(container, clock):
    background(container, clock)
    planted = plant(container, clock, LIFT[:5], [f"1380000{i:04d}" for i in range(5)])
    timer = loops(container)
    assert timer.hotspot_pass() == 1
    assert timer.hotspot_pass() == 1                       # the next pass finds the same spot
    [alert] = hotspots.alerts(container.cases)
    assert set(alert["case_numbers"]) == set(planted)
    notes = [e for e in container.cases.get(planted[-1]).events if e.actor == hotspots.ACTOR]
    assert len(notes) == 1


def test_a_replica_without_the_lease_does_not_scan(container, clock):
    background(container, clock)
    plant(container, clock, LIFT[:5], [f"1380000{i:04d}" for i in range(5)])
    timer = loops(container)
    timer.hotspot_leader.held = lambda: False              # another replica holds it
    assert timer.hotspot_pass() == 0 and hotspots.alerts(container.cases) == []


def test_the_interval_comes_from_the_environment(container):
    assert WebSettings.from_env(container.settings, {}).hotspot_interval == 900.0
    assert WebSettings.from_env(container.settings, {"HOTSPOT_INTERVAL": "0"}).hotspot_interval == 0.0
