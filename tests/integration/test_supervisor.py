"""`syndicate up` on its own: embedded Redis with AOF, every part started, and on SIGTERM every
process gone (no orphans)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import redis
import requests

from shared.redis_server import free_port
from tests.conftest import DB_SUPERVISOR
from tests.support.waiting import wait_for


def test_up_runs_everything_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATE_")}
    env.update(
        SYNDICATE_DATA_DIR=str(tmp_path / "var"),
        SYNDICATE_PORT=str(port),
        SYNDICATE_API_TOKENS="tok",
    )
    log = (tmp_path / "up.log").open("wb")
    up = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "up"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            try:
                return requests.get(f"{base}/readyz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for(ready, timeout=90, interval=0.3, message="syndicate up to be ready")
        feed = requests.get(f"{base}/feeds/all.rss", timeout=5)
        assert feed.status_code == 200 and b"<rss" in feed.content

        url_file = tmp_path / "var" / "redis.url"
        url = url_file.read_text().strip()
        embedded = redis.Redis.from_url(url)
        assert embedded.config_get("appendonly")["appendonly"] == "yes"
        assert embedded.config_get("dir")["dir"] == str((tmp_path / "var" / "redis").resolve())

        family = psutil.Process(up.pid).children(recursive=True)
        names = " ".join(" ".join(p.cmdline()) for p in family)
        for part in (
            "redis-server",
            " api",
            "worker ingest",
            "worker render",
            "worker publish",
            "scheduler",
        ):
            assert part in names, part
        output = (tmp_path / "up.log").read_text()
        assert f"{base}/docs" in output and f"{base}/feeds/all.rss" in output

        up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=60) == 0
        _gone, alive = psutil.wait_procs(family, timeout=10)
        assert not alive, [p.cmdline() for p in alive]
        assert not url_file.exists()
    finally:
        if up.poll() is None:
            up.kill()
        log.close()


def test_a_child_that_dies_is_restarted(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATE_")}
    env.update(SYNDICATE_DATA_DIR=str(tmp_path / "var"), SYNDICATE_PORT=str(port))
    up = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "up", "--no-scheduler"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def worker(queue: str) -> psutil.Process | None:
            for child in psutil.Process(up.pid).children():
                try:
                    if child.status() != psutil.STATUS_ZOMBIE and f"worker {queue}" in " ".join(
                        child.cmdline()
                    ):
                        return child
                except psutil.Error:
                    continue  # exited between listing and looking
            return None

        first = wait_for(lambda: worker("render"), timeout=60, message="the render worker")
        first.kill()
        second = wait_for(
            lambda: (w := worker("render")) is not None and w.pid != first.pid and w,
            timeout=30,
            message="a new render worker",
        )
        assert second.is_running()
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(timeout=60)


def test_up_with_a_redis_url_starts_no_redis(tmp_path: Path, redis_server: object) -> None:
    from shared.redis_server import RedisServer

    assert isinstance(redis_server, RedisServer)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATE_")}
    env.update(
        SYNDICATE_DATA_DIR=str(tmp_path / "var"),
        SYNDICATE_PORT=str(port),
        SYNDICATE_REDIS_URL=f"{redis_server.url.rsplit('/', 1)[0]}/{DB_SUPERVISOR}",
    )
    up = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "up", "--no-scheduler"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def parts() -> list[str]:
            return [" ".join(c.cmdline()) for c in psutil.Process(up.pid).children()]

        wait_for(lambda: len(parts()) == 4, timeout=60, message="api and three workers")
        assert not any("redis-server" in p for p in parts())
        assert not (tmp_path / "var" / "redis.url").exists()
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(timeout=60)
