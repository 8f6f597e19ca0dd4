"""Sources on the real service: upstream wires and hubs on loopback, the session's live service
(its scheduler polls; settings in ``tests/support/service.py``: 1 s minimum interval, loopback
allowed, a drop-folder root in its data dir, files settle after 3 s)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from tests.support.hub import Hub
from tests.support.service import Service
from tests.support.upstream import Upstream
from tests.support.waiting import wait_for


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream().start()
    yield server
    server.stop()


@pytest.fixture
def hub() -> Iterator[Hub]:
    server = Hub(lease_seconds=8).start()
    yield server
    server.stop()


@pytest.fixture
def made(live_service: Service) -> Iterator[list[str]]:
    """Sources a test creates on the shared live service; all removed at its end."""
    ids: list[str] = []
    yield ids
    for source_id in ids:
        requests.delete(
            f"{live_service.base_url}/v1/sources/{source_id}",
            headers=live_service.auth(),
            timeout=10,
        )


def create(service: Service, made: list[str], **fields: Any) -> dict[str, Any]:
    fields.setdefault("name", "test source")
    answer = requests.post(
        f"{service.base_url}/v1/sources", json=fields, headers=service.auth(), timeout=10
    )
    assert answer.status_code == 201, answer.text
    source = dict(answer.json())
    made.append(source["id"])
    return source


def get_source(service: Service, source_id: str) -> dict[str, Any]:
    answer = requests.get(
        f"{service.base_url}/v1/sources/{source_id}", headers=service.auth(), timeout=10
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def wait_source(
    service: Service,
    source_id: str,
    condition: Callable[[dict[str, Any]], bool],
    message: str,
    timeout: float = 45,
) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        source = get_source(service, source_id)
        return source if condition(source) else None

    try:
        return wait_for(check, timeout=timeout, interval=0.1, message=message)
    except AssertionError:
        print(service.logs(40))
        raise


def items(service: Service, source_id: str) -> dict[str, Any]:
    answer = requests.get(
        f"{service.base_url}/v1/sources/{source_id}/items",
        params={"limit": 500},
        headers=service.auth(),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def wait_parsed(service: Service, source_id: str, count: int) -> list[dict[str, Any]]:
    """Wait until the source has produced ``count`` raw items and ingest has parsed them all."""

    def done() -> list[dict[str, Any]] | None:
        listed = items(service, source_id)["items"]
        if len(listed) == count and all(i["status"] == "parsed" for i in listed):
            return list(listed)
        return None

    return wait_for(done, timeout=60, interval=0.2, message=f"{count} items parsed")
