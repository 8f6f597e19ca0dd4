"""`syndicate ingest FILE|DIR…` posts to a running service and summarises what happened."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from tests.integration.test_end_to_end import sample_copy
from tests.support.service import Service


def run_ingest(
    service: Service, *args: str, token: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATE_")}
    env["SYNDICATE_API_TOKENS"] = token or service.token
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "ingest", "--url", service.base_url, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_folder_is_posted_with_a_summary(live_service: Service, tmp_path: Path) -> None:
    for i in range(7):  # more than a handful: the progress bar path
        (tmp_path / f"story{i}.txt").write_bytes(sample_copy(uuid.uuid4().hex[:8]))
    (tmp_path / "empty.txt").write_bytes(b"   ")
    result = run_ingest(live_service, str(tmp_path))
    assert result.returncode == 1  # one refusal
    assert "8 files: 7 accepted, 1 refused 400" in result.stdout
    assert "empty.txt: 400" in result.stderr and "empty" in result.stderr


def test_a_wrong_token_is_reported(live_service: Service, tmp_path: Path) -> None:
    story = tmp_path / "one.txt"
    story.write_bytes(sample_copy(uuid.uuid4().hex[:8]))
    result = run_ingest(live_service, str(story), token="not-the-token")
    assert result.returncode == 1
    assert "1 refused 401" in result.stdout


def test_the_token_make_run_keeps_is_used_when_none_is_given(
    live_service: Service, tmp_path: Path
) -> None:
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "api-token").write_text(live_service.token + "\n")
    story = tmp_path / "one.txt"
    story.write_bytes(sample_copy(uuid.uuid4().hex[:8]))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATE_")}
    env["SYNDICATE_DATA_DIR"] = str(tmp_path / "var")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.cli",
            "ingest",
            "--url",
            live_service.base_url,
            str(story),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "1 files: 1 accepted" in result.stdout
