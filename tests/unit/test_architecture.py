"""The house rules, checked mechanically: services never import each other; shared imports no
service; one module spells Redis keys; task names live in shared."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from shared import keys, names

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("ingest", "render", "publish")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service(service: str) -> None:
    for path in python_files(f"services/{service}"):
        for module in imported_modules(path):
            for other in SERVICES:
                if other != service:
                    assert not module.startswith(f"services.{other}"), f"{path} imports {module}"


def test_shared_imports_no_service() -> None:
    for path in python_files("shared"):
        assert not any(m.startswith("services") for m in imported_modules(path)), path


def test_only_the_composition_root_imports_several_services() -> None:
    for path in python_files("services"):
        inside = path.relative_to(ROOT / "services").parts[0]  # a service folder, at any depth
        if inside in SERVICES or path.name in ("app.py", "cli.py"):
            continue
        used = {m.split(".")[1] for m in imported_modules(path) if m.startswith("services.")}
        assert not used & set(SERVICES), f"{path} composes services; only app.py and cli.py may"


def test_every_redis_key_is_under_the_prefix() -> None:
    for name, function in inspect.getmembers(keys, inspect.isfunction):
        if function.__module__ != keys.__name__:
            continue
        arity = len(inspect.signature(function).parameters)
        key = function(*["x"] * arity)
        assert key.startswith(keys.PREFIX), name


def test_no_module_but_keys_spells_a_key() -> None:
    for folder in ("shared", "services"):
        for path in python_files(folder):
            if path == ROOT / "shared" / "keys.py":
                continue
            assert f'"{keys.PREFIX}' not in path.read_text(encoding="utf-8"), path


def test_task_names_route_to_their_queue() -> None:
    task_names = [v for k, v in vars(names).items() if k.startswith("TASK_")]
    assert task_names
    for task in task_names:
        assert names.queue_of(task) in names.QUEUES
    with pytest.raises(ValueError, match="not a Syndicate task"):
        names.queue_of("celery.backend_cleanup")


def test_task_names_are_spelt_only_in_shared() -> None:
    for path in python_files("services"):
        assert '"syndicate.ingest.' not in path.read_text(encoding="utf-8"), path
        assert '"syndicate.render.' not in path.read_text(encoding="utf-8"), path
        assert '"syndicate.publish.' not in path.read_text(encoding="utf-8"), path
