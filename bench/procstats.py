"""CPU seconds and peak RSS of every process of the running service (and of the bench itself).

A thread samples, twice a second, the process tree under ``syndicate up`` (Redis, the API, each
worker and its pool children, the scheduler) plus any extra processes named at start (the load
generator, the receivers). Each process is labelled by what it runs, so figures read as
"worker ingest" rather than a pid.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import psutil


def label_of(proc: psutil.Process) -> str:
    """What a process of the service is, from its command line."""
    try:
        argv = proc.cmdline()
    except (psutil.Error, OSError):
        return "?"
    text = " ".join(argv)
    if "redis-server" in text:
        return "redis-server"
    if "services.cli" in text or argv[1:2] == ["up"]:
        tail = argv[argv.index("services.cli") + 1 :] if "services.cli" in argv else argv[1:]
        named = " ".join(a for a in tail[:2] if not a.startswith("-")) or "syndicate"
        return "syndicate up" if named == "up" else named
    if "syndicate" in text and " up" in text:
        return "syndicate up"
    return proc.name()


@dataclass
class ProcStats:
    """Running totals per labelled process: CPU seconds so far, peak RSS since ``reset``."""

    root: int
    extra: dict[str, int] = field(default_factory=dict)
    interval: float = 0.5
    cpu: dict[str, float] = field(default_factory=dict)
    peak_rss: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._labels: dict[int, str] = {}
        self._procs: dict[int, psutil.Process] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> ProcStats:
        self.sample()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _label(self, proc: psutil.Process, parent_label: str | None) -> str:
        if proc.pid not in self._labels:
            base = label_of(proc)
            if parent_label and (
                base == parent_label.split(" #")[0] or base in ("python", "python3")
            ):
                base = f"{parent_label} child"  # a prefork pool child, a uvicorn worker
            taken = set(self._labels.values())
            name, k = base, 2
            while name in taken:
                name, k = f"{base} #{k}", k + 1
            self._labels[proc.pid] = name
        return self._labels[proc.pid]

    def _tree(self) -> list[tuple[psutil.Process, str]]:
        found: list[tuple[psutil.Process, str]] = []
        for name, pid in self.extra.items():
            proc = self._procs.setdefault(pid, psutil.Process(pid))
            self._labels.setdefault(pid, name)
            found.append((proc, name))
        try:
            root = self._procs.setdefault(self.root, psutil.Process(self.root))
            found.append((root, self._label(root, None)))
            for child in root.children(recursive=True):
                proc = self._procs.setdefault(child.pid, child)
                try:
                    parent = proc.ppid()
                except psutil.Error:
                    continue
                found.append((proc, self._label(proc, self._labels.get(parent))))
        except psutil.Error:
            pass
        return found

    def sample(self) -> None:
        with self._lock:
            for proc, name in self._tree():
                try:
                    with proc.oneshot():
                        times = proc.cpu_times()
                        rss = proc.memory_info().rss
                except psutil.Error:
                    continue
                self.cpu[name] = times.user + times.system
                self.peak_rss[name] = max(self.peak_rss.get(name, 0), rss)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def snapshot(self) -> dict[str, float]:
        """CPU seconds so far, per process."""
        self.sample()
        with self._lock:
            return dict(self.cpu)

    def reset_peaks(self) -> None:
        with self._lock:
            self.peak_rss.clear()

    def peaks(self) -> dict[str, int]:
        with self._lock:
            return dict(self.peak_rss)
