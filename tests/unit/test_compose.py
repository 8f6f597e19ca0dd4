"""docker-compose.yml runs commands the CLI has, with settings that exist."""

from __future__ import annotations

import re
from pathlib import Path

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


def test_every_syndicate_command_exists_in_the_cli() -> None:
    command = get_command(cli)
    subcommands = set(command.commands)  # type: ignore[attr-defined]
    for name, service in COMPOSE["services"].items():
        argv = service.get("command", [])
        checks = [argv, service.get("healthcheck", {}).get("test", [])[1:]]
        for words in checks:
            if words and words[0] == "syndicate":
                assert words[1] in subcommands, f"{name}: syndicate {words[1]} does not exist"
        assert "healthcheck" in service, f"{name} has no health check"


def test_every_env_var_is_a_real_setting() -> None:
    fields = {f"SYNDICATE_{name.upper()}" for name in Settings.model_fields}
    text = (ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"\b(SYNDICATE_[A-Z_]+)\b", text))
    assert used, "compose sets no SYNDICATE_ variables"
    assert used <= fields, used - fields
