"""The real service, as processes: API, workers and scheduler started with the `syndicate` command.

Each part can be started, killed (SIGKILL) and restarted on its own, for fault tests. Every part's
output goes to a log file that a failing test prints.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis
import requests

from shared.redis_server import free_port
from tests.support.waiting import wait_for

PARTS = {
    "api": ["api"],
    "ingest": ["worker", "ingest"],
    "render": ["worker", "render"],
    "publish": ["worker", "publish"],
    "scheduler": ["scheduler"],
}


@dataclass
class Service:
    redis_url: str
    data_dir: Path
    token: str = "test-token-0123456789"
    env_extra: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, **overrides: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATE_")}
        env.update(
            {
                "SYNDICATE_REDIS_URL": self.redis_url,
                "SYNDICATE_PORT": str(self.port),
                "SYNDICATE_HOST": "127.0.0.1",
                "SYNDICATE_DATA_DIR": str(self.data_dir),
                "SYNDICATE_API_TOKENS": self.token,
                "SYNDICATE_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
                "SYNDICATE_VISIBILITY_TIMEOUT": "6",
                "SYNDICATE_WEBHOOK_RETRY_SCHEDULE": "0,1,1,1,1",
                "SYNDICATE_LOG_LEVEL": "INFO",
                # sources (issue #6): loopback upstreams, quick polls, a drop-folder root
                "SYNDICATE_SOURCE_MIN_INTERVAL_SECONDS": "1",
                "SYNDICATE_SOURCE_ALLOWED_NETWORKS": "127.0.0.0/8",
                "SYNDICATE_SOURCE_FOLDER_ROOTS": str(self.data_dir / "drop"),
                "SYNDICATE_SOURCE_FILE_SETTLE_SECONDS": "3",
                "SYNDICATE_SOURCE_TIMEOUT_SECONDS": "10",
                "SYNDICATE_SOURCE_WEBSUB_POLL_SECONDS": "120",
            }
        )
        env.update(self.env_extra)
        env.update(overrides)
        return env

    def log_path(self, name: str) -> Path:
        return self.data_dir / "logs" / f"{name}.log"

    def start(self, name: str, **env_overrides: str) -> subprocess.Popen[bytes]:
        """Start one part (``api``, ``ingest``, ``render``, ``publish``, ``scheduler``)."""
        part = name.split("#", 1)[0]
        log_path = self.log_path(name)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "services.cli", *PARTS[part]],
                env=self.env(**env_overrides),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs[name] = proc
        return proc

    def start_all(self) -> Service:
        for name in PARTS:
            self.start(name)
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        def ready() -> bool:
            try:
                return requests.get(f"{self.base_url}/readyz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        try:
            wait_for(ready, timeout=timeout, interval=0.2, message="the service to be ready")
        except AssertionError:
            print(self.logs())
            raise

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(name)
        if proc.poll() is None:
            os.killpg(proc.pid, sig)
        proc.wait(timeout=30)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for name, proc in list(self.procs.items()):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            self.procs.pop(name, None)

    def logs(self, tail: int = 60) -> str:
        out = []
        for path in sorted((self.data_dir / "logs").glob("*.log")):
            lines = path.read_text(errors="replace").splitlines()[-tail:]
            out.append(f"----- {path.name}\n" + "\n".join(lines))
        return "\n".join(out)

    # --- client helpers ---------------------------------------------------------------------

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def post_wire(
        self, body: bytes, content_type: str = "text/plain", **headers: str
    ) -> requests.Response:
        return requests.post(
            f"{self.base_url}/v1/wire",
            data=body,
            headers={**self.auth(), "Content-Type": content_type, **headers},
            timeout=10,
        )

    def get(self, path: str, **kwargs: object) -> requests.Response:
        return requests.get(f"{self.base_url}{path}", timeout=10, **kwargs)  # type: ignore[arg-type]

    def subscribe(self, url: str, **fields: object) -> dict[str, object]:
        response = requests.post(
            f"{self.base_url}/v1/subscriptions",
            json={"url": url, **fields},
            headers=self.auth(),
            timeout=10,
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def unsubscribe(self, sub_id: str) -> None:
        requests.delete(
            f"{self.base_url}/v1/subscriptions/{sub_id}", headers=self.auth(), timeout=10
        )

    def wire_status(self, wire_id: str) -> dict[str, object]:
        return dict(self.get(f"/v1/wire/{wire_id}").json())


@contextmanager
def running(redis_url: str, data_dir: Path, **env_extra: str) -> Iterator[Service]:
    """Every part of the service on a Redis database of its own, emptied before and after, so
    what a test counts there is only its own; stopped however the test ends."""
    redis.Redis.from_url(redis_url).flushdb()
    service = Service(redis_url=redis_url, data_dir=data_dir, env_extra=env_extra)
    try:
        service.start_all()
        yield service
    finally:
        service.stop()
        redis.Redis.from_url(redis_url).flushdb()
