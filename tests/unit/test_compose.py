"""docker-compose.yml runs commands the CLI has, with settings that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from typer.main import get_command

from services.cli import cli
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_design_cards_services_are_there() -> None:
    assert {
        "redis",
        "api",
        "worker-ingest",
        "worker-render",
        "worker-publish",
        "scheduler",
        "flower",
    } <= set(COMPOSE["services"])


def test_redis_has_aof_and_a_volume() -> None:
    redis = COMPOSE["services"]["redis"]
    assert "--appendonly" in redis["command"] and "yes" in redis["command"]
    assert redis["volumes"]


def test_every_syndicate_command_line_parses_in_the_cli(settings_env: pytest.MonkeyPatch) -> None:
    """Each compose command (and health check) is a command line our CLI accepts, options and
    arguments included; flower's `--app` names the Celery app that exists."""
    import importlib

    settings_env.setenv("SYNDICATE_REDIS_URL", "redis://127.0.0.1:1/0")  # built, never reached
    command = get_command(cli)
    for name, service in COMPOSE["services"].items():
        argv = service.get("command", [])
        checks = [argv, service.get("healthcheck", {}).get("test", [])[1:]]
        for words in checks:
            if words and words[0] == "syndicate":
                # resolves the subcommand and parses every option and argument, or raises
                with command.make_context("syndicate", list(words[1:])) as ctx:
                    sub = command.get_command(ctx, words[1])  # type: ignore[attr-defined]
                    assert sub is not None, f"{name}: syndicate {words[1]} does not exist"
                    sub.make_context(words[1], list(words[2:]), parent=ctx).close()
            if words and words[0] == "celery":
                app = words[words.index("--app") + 1]
                module, _, attribute = app.partition(":")
                assert getattr(importlib.import_module(module), attribute) is not None
        assert "healthcheck" in service, f"{name} has no health check"


def test_every_env_var_is_a_real_setting() -> None:
    fields = {f"SYNDICATE_{name.upper()}" for name in Settings.model_fields}
    text = (ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"\b(SYNDICATE_[A-Z_]+)\b", text))
    assert used, "compose sets no SYNDICATE_ variables"
    assert used <= fields, used - fields
