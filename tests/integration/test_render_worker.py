"""The render worker as a process: named feeds it cannot read stop it at start, saying why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from shared.redis_server import RedisServer
from tests.conftest import redis_url

DB_RENDER_WORKER = 6  # issue #4's own database on the session's server


def test_bad_named_feeds_stop_the_render_worker(redis_server: RedisServer, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATE_")}
    env.update(
        SYNDICATE_REDIS_URL=redis_url(redis_server, DB_RENDER_WORKER),
        SYNDICATE_DATA_DIR=str(tmp_path),
        SYNDICATE_NAMED_FEEDS='{"all": {"title": "Everything"}}',
    )
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "worker", "render"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "named feed 'all'" in done.stderr
