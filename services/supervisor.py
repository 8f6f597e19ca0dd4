"""`syndicate up`: every part of the service as child processes of one foreground process.

Starts the embedded Redis when ``SYNDICATE_REDIS_URL`` is unset, then the API, one worker per
queue and the scheduler, each in its own session (so Ctrl-C reaches only us and we stop them in
order) and each set to die with us (so a SIGKILL of ``up`` leaves no orphans). A child that exits
on its own is restarted. On SIGINT/SIGTERM: children get SIGTERM, stragglers SIGKILL after a
grace period, then Redis stops.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from types import FrameType

from shared.procutil import die_with_parent
from shared.redis_server import RedisServer
from shared.settings import Settings

log = logging.getLogger("syndicate.up")
GRACE_SECONDS = 20.0


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)


class Supervisor:
    def __init__(self, settings: Settings, *, with_scheduler: bool = True) -> None:
        self.settings = settings
        self.stopping = False
        self.redis: RedisServer | None = None
        python = [sys.executable, "-m", "services.cli"]
        parts = [
            ("api", [*python, "api", "--workers", str(settings.api_workers)]),
            ("worker-ingest", [*python, "worker", "ingest"]),
            ("worker-render", [*python, "worker", "render"]),
        ]
        for n in range(settings.publish_workers):
            parts.append(
                (f"worker-publish{'' if n == 0 else f'-{n + 1}'}", [*python, "worker", "publish"])
            )
        if with_scheduler:
            parts.append(("scheduler", [*python, "scheduler"]))
        self.children = [Child(name, argv) for name, argv in parts]

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if not self.stopping:
            log.info("%s received: stopping", signal.Signals(signum).name)
        self.stopping = True

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.redis is not None:
            env["SYNDICATE_REDIS_URL"] = self.redis.url
        return env

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(  # noqa: S603 - our own argv
            child.argv,
            env=self._env(),
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        log.info("started %s (pid %d)", child.name, child.process.pid)

    def run(self) -> int:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        settings = self.settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if not settings.redis_url:
            self.redis = RedisServer(data_dir=settings.data_dir / "redis").start()
            settings.redis_url_file.write_text(self.redis.url + "\n", encoding="utf-8")
            log.info("embedded redis-server at %s (AOF in %s)", self.redis.url, self.redis.data_dir)
        try:
            for child in self.children:
                self._start(child)
            self._announce()
            self._watch()
        finally:
            self._stop_all()
        return 0

    def _announce(self) -> None:
        base = self.settings.base_url
        print(
            f"\nSyndicate is starting.\n"
            f"  API docs   {base}/docs\n"
            f"  OpenAPI    {base}/openapi.json\n"
            f"  RSS        {base}/feeds/all.rss\n"
            f"  Atom       {base}/feeds/all.atom\n"
            f"  Ready?     {base}/readyz\n"
            f"Ctrl-C stops everything.\n",
            flush=True,
        )

    def _watch(self) -> None:
        while not self.stopping:
            for child in self.children:
                proc = child.process
                if proc is not None and proc.poll() is not None and not self.stopping:
                    log.warning("%s exited with %s; restarting", child.name, proc.returncode)
                    now = time.monotonic()
                    child.restarts = [t for t in child.restarts if now - t < 60] + [now]
                    if len(child.restarts) > 5:
                        time.sleep(2.0)  # crash loop: do not spin
                    self._start(child)
            time.sleep(0.2)

    def _stop_all(self) -> None:
        live = [c.process for c in self.children if c.process and c.process.poll() is None]
        for proc in live:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        for proc in live:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("pid %d did not stop in time; killing it", proc.pid)
                proc.kill()
                proc.wait()
        if self.redis is not None:
            self.redis.stop()
            with contextlib.suppress(OSError):
                self.settings.redis_url_file.unlink()
        log.info("stopped")
