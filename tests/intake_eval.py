"""Field-level accuracy of the intake on tests/data/transcripts (used by the test and by hand:
`.venv/app/bin/python -m tests.intake_eval`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.intake.reader import ReadFailure, read_path
from bot.intake.service import IntakeService

DATA = Path(__file__).parent / "data" / "transcripts"


@dataclass
class Score:
    right: int = 0
    total: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, ok: bool, label: str) -> None:
        self.total += 1
        self.right += ok
        if not ok:
            self.misses.append(label)

    @property
    def rate(self) -> float:
        return self.right / self.total if self.total else 1.0


def expected() -> dict[str, dict]:
    return yaml.safe_load((DATA / "expected.yml").read_text(encoding="utf-8"))


def evaluate(service: IntakeService) -> tuple[dict[str, Score], list[str]]:
    want = expected()
    proposals, errors = {}, []
    for item in read_path(DATA):
        if isinstance(item, ReadFailure):
            errors.append(f"{item.id}: {item.error}")
            continue
        try:
            proposals[item.id] = service.propose(item)
        except Exception as exc:  # noqa: BLE001 - counted as misses below
            errors.append(f"{item.id}: {exc}")
    scores = {k: Score() for k in ("level1", "category", "phone", "case_number", "area", "name",
                                   "emergency", "no_false_emergency", "urgency")}
    for id, exp in want.items():
        p = proposals.get(id) or proposals.get(Path(exp["file"]).stem)
        got = (lambda f: f(p)) if p else (lambda f: "<missing>")
        s = scores
        s["level1"].add(got(lambda p: p.category["level1"]) == exp["level1"],
                        f"{id}: {got(lambda p: p.category['level1'] + '/' + p.category['code'])} ≠ {exp['level1']}/{exp['category']}")
        s["category"].add(got(lambda p: p.category["code"]) == exp["category"], f"{id}")
        s["phone"].add(got(lambda p: p.phone) == exp["phone"], f"{id}: {got(lambda p: p.phone)} ≠ {exp['phone']}")
        got_cases = got(lambda p: p.case_numbers[0] if p.case_numbers else None)
        s["case_number"].add(got_cases == exp["case_number"], f"{id}: {got_cases} ≠ {exp['case_number']}")
        s["area"].add(got(lambda p: p.area) == exp["area"],
                      f"{id}: {got(lambda p: p.area)} ≠ {exp['area']} ({got(lambda p: p.place.get('address'))})")
        if "name" in exp:
            s["name"].add(got(lambda p: p.name) == exp["name"], f"{id}: {got(lambda p: p.name)} ≠ {exp['name']}")
        level = got(lambda p: p.urgency["level"])
        if exp["urgency"] == "emergency":
            s["emergency"].add(level == "emergency", f"{id}: {level}")
        else:
            s["no_false_emergency"].add(level != "emergency", f"{id}: {level} ({got(lambda p: p.urgency['reason'])})")
        s["urgency"].add(level == exp["urgency"], f"{id}: {level} ≠ {exp['urgency']}")
    return scores, errors


def report(scores: dict[str, Score]) -> str:
    return "\n".join(f"{name:<20} {s.rate:6.1%}  ({s.right}/{s.total})" +
                     (f"  misses: {'; '.join(s.misses[:8])}" if s.misses else "")
                     for name, s in scores.items())


if __name__ == "__main__":
    import tempfile

    from bot.container import Container
    from bot.settings import ROOT, Settings

    with tempfile.TemporaryDirectory() as tmp:
        container = Container(Settings.from_env({"DATABASE_URL": f"sqlite:///{tmp}/c.db",
                                                 "BOT_DATA_DIR": str(ROOT / "data"), "BOT_VAR_DIR": tmp}))
        container.upgrade()
        service = IntakeService.from_container(container)
        print("classifier:", type(service.classifier).__name__)
        scores, errors = evaluate(service)
        print(report(scores))
        for e in errors:
            print("ERROR", e)
