"""What every fault test reports (issue 12, part 4): messages lost and duplicated, both 0."""
from __future__ import annotations

from collections import Counter


def lost_and_duplicated(said: list[str], kept: list[str]) -> tuple[int, int]:
    """`said`: what was sent (distinct); `kept`: what ended up where it must be, once each."""
    counts = Counter(kept)
    lost = sum(1 for words in said if counts[words] == 0)
    duplicated = sum(n - 1 for n in counts.values() if n > 1) + sum(
        n for words, n in counts.items() if words not in said)
    return lost, duplicated


def report(fault: str, lost: int, duplicated: int, **details) -> None:
    extra = "".join(f", {k} {v}" for k, v in details.items())
    print(f"\n[fault] {fault}: lost {lost} / duplicated {duplicated}{extra}")
    assert (lost, duplicated) == (0, 0), f"{fault}: lost {lost}, duplicated {duplicated}{extra}"
