"""RSS and CPU share of a set of processes over a measured window (psutil)."""
from __future__ import annotations

import os
import threading
import time

import psutil


def role(process: psutil.Process) -> str:
    """A short name for one of the product's (or the stock project's) processes."""
    try:
        argv = process.cmdline()
    except psutil.Error:
        return f"pid{process.pid}"
    line = " ".join(argv)
    names = [os.path.basename(a) for a in argv[:3]]
    if "rasa_sdk" in argv:
        return "actions"
    if "bot.web.serve" in argv:
        return "app"
    if "rasa" in names and "run" in argv:
        return "rasa"
    if ("bot" in names or "bot.cli" in argv) and "run" in argv:
        return "supervisor"
    if "telegram" in line:
        return "telegram"
    return os.path.basename(argv[0]) if argv else f"pid{process.pid}"


class ProcessWatch:
    """CPU seconds per process between `start` and `stop` (as % of one core over the window)
    and the peak RSS sampled every `interval` seconds. Children that appear later (Sanic
    workers) are picked up at each sample."""

    def __init__(self, roots: list[tuple[str, int]], own: bool = False, interval: float = 0.5) -> None:
        self.roots = roots
        self.own = own
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cpu0: dict[int, float] = {}
        self._peak: dict[int, int] = {}
        self._names: dict[int, str] = {}
        self._procs: dict[int, psutil.Process] = {}
        self._last: dict[int, float] = {}
        self._t0 = 0.0

    @classmethod
    def of_tree(cls, pid: int, own: bool = False, prefix: str = "") -> "ProcessWatch":
        return cls([(prefix, pid)], own=own)

    def processes(self) -> dict[int, tuple[str, psutil.Process]]:
        found: dict[int, tuple[str, psutil.Process]] = {}
        for prefix, pid in self.roots:
            try:
                root = psutil.Process(pid)
                members = [root, *root.children(recursive=True)]
            except psutil.Error:
                continue
            names = {}
            for process in members:          # parents come before their children
                try:
                    parent = names.get(process.ppid()) if process.pid != pid else None
                    parent = None if process.ppid() == pid else parent
                except psutil.Error:
                    continue
                names[process.pid] = f"{parent}-worker" if parent else role(process)
                found[process.pid] = (prefix + names[process.pid], process)
        if self.own:
            me = psutil.Process()
            found[me.pid] = ("bench", me)
        return found

    def names(self) -> list[str]:
        return [name for name, _ in self.processes().values()]

    def _sample(self, first: bool = False) -> None:
        for pid, (name, process) in self.processes().items():
            try:
                times = process.cpu_times()
                rss = process.memory_info().rss
            except psutil.Error:
                continue
            cpu = times.user + times.system
            if pid not in self._procs:
                self._procs[pid], self._names[pid] = process, name
                # a process born during the window counts from zero
                self._cpu0[pid] = cpu if first else 0.0
            self._last[pid] = cpu
            self._peak[pid] = max(self._peak.get(pid, 0), rss)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def start(self) -> None:
        self._cpu0.clear(), self._peak.clear(), self._names.clear(), self._procs.clear()
        self._last.clear()
        self._stop.clear()
        self._t0 = time.monotonic()
        self._sample(first=True)
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, dict]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        wall = max(time.monotonic() - self._t0, 1e-6)
        out: dict[str, dict] = {}
        for pid, name in sorted(self._names.items(), key=lambda kv: kv[1]):
            key = name if name not in out else f"{name}#{pid}"
            cpu = self._last[pid] - self._cpu0[pid]
            out[key] = {"pid": pid, "cpu_s": round(cpu, 3), "cpu_pct": round(100 * cpu / wall, 1),
                        "rss_mb": round(self._peak[pid] / 2**20, 1)}
        return out

    def pids(self) -> dict[str, int]:
        return {name: pid for pid, (name, _) in self.processes().items()}
