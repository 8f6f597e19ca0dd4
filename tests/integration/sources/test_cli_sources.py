"""``syndicate sources add|list|show|update|remove|poll`` against a Redis database; ``poll``
runs the scheduler's own poll in the command's process, against an upstream on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from services.cli import cli
from shared import keys
from tests.conftest import _clear_caches
from tests.support.upstream import Answer, Upstream, rss

runner = CliRunner()


@pytest.fixture
def env(redis_db: redis.Redis, settings_env: pytest.MonkeyPatch, tmp_path: Path) -> redis.Redis:
    settings_env.setenv("SYNDICATE_SOURCE_MIN_INTERVAL_SECONDS", "1")
    settings_env.setenv("SYNDICATE_SOURCE_ALLOWED_NETWORKS", "127.0.0.0/8")
    settings_env.setenv("SYNDICATE_SOURCE_FOLDER_ROOTS", str(tmp_path / "drop"))
    _clear_caches()
    return redis_db


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(cli, ["sources", *args])
    return result.exit_code, result.output


def test_the_sources_commands(env: redis.Redis, upstream: Upstream, tmp_path: Path) -> None:
    url = upstream.serve(
        "/feed",
        Answer(
            200,
            {"Content-Type": "application/rss+xml", "ETag": '"1"'},
            rss([("a", "Gulls return to the pier")]),
        ),
    )
    code, out = run("add", "Pier wire", "--url", url, "--agency", "ap", "--interval", "30")
    assert code == 0, out
    source = json.loads(out)
    assert source["agency"] == "AP" and source["interval_seconds"] == 30

    code, out = run("poll", source["id"])
    assert code == 0, out
    report = json.loads(out[out.index("{") :])
    assert report["outcome"] == "ok" and report["status"] == 200 and report["taken"] == 1
    assert len(upstream.hits_of("/feed")) == 1
    assert env.zscore(keys.sources_due(), source["id"]) is not None  # rescheduled

    code, out = run("show", source["id"])
    assert code == 0 and json.loads(out)["health"]["items_taken"] == 1
    code, out = run("update", source["id"], "--disable", "--name", "Pier")
    assert code == 0 and json.loads(out)["enabled"] is False and json.loads(out)["name"] == "Pier"
    code, out = run("add", "Desk", "--path", str(tmp_path / "drop" / "desk"), "--format", "nitf")
    assert code == 0, out
    code, out = run("list")
    assert [json.loads(line)["name"] for line in out.splitlines()] == ["Pier", "Desk"]

    code, out = run("add", "Bad", "--url", url, "--interval", "0")
    assert code != 0
    code, out = run("add", "Etc", "--path", "/etc")
    assert code == 1 and "SYNDICATE_SOURCE_FOLDER_ROOTS" in out
    code, out = run("remove", source["id"])
    assert code == 0 and "removed" in out
    code, out = run("show", source["id"])
    assert code == 1 and "No source" in out


def test_poll_fails_when_the_upstream_does(env: redis.Redis, upstream: Upstream) -> None:
    url = upstream.serve("/down", Answer(500, body=b"broken"))
    code, out = run("add", "Down", "--url", url)
    source = json.loads(out)
    code, out = run("poll", source["id"])
    assert code == 1
    report = json.loads(out[out.index("{") :])
    assert report["outcome"] == "error" and "500" in report["error"]
    assert report["next_poll_reason"].startswith("backoff")


def test_what_the_request_model_refuses_is_a_refusal_not_a_traceback(env: redis.Redis) -> None:
    code, out = run("add", "X", "--url", "http://127.0.0.1:9/", "--timeout", "0")
    assert code == 1 and "refused: timeout_seconds: Input should be greater than 0" in out
    assert "Traceback" not in out and "ValidationError" not in out
    code, out = run("add", "", "--url", "http://127.0.0.1:9/")
    assert code == 1 and out.startswith("refused: name:")
    code, out = run("add", "   ", "--url", "http://127.0.0.1:9/")
    assert code == 1 and "refused: name must not be blank" in out
    code, out = run("add", "Ok", "--url", "http://127.0.0.1:9/")
    source = json.loads(out)
    code, out = run("update", source["id"], "--interval", str(10**12))
    assert code == 1 and out.startswith("refused: interval_seconds:")
    code, out = run("update", source["id"], "--max-bytes", "0")
    assert code == 1 and out.startswith("refused: max_bytes:")
    assert json.loads(run("show", source["id"])[1])["interval_seconds"] == 300  # unchanged
