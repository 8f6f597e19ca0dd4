"""One whole service for the publish tests (Redis DB 7 of the session's server), with settings
that make webhook and WebSub behaviour observable within seconds: a short retry schedule, two
deliveries in flight per subscription, a long read timeout (a hanging partner stays hanging),
a short visibility timeout (the broker hands a long task out again), leases down to 1 s, and an
external hub to ping."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from shared.redis_server import RedisServer
from tests.conftest import redis_url
from tests.support.events import Injector
from tests.support.receiver import Receiver
from tests.support.service import Service
from tests.support.waiting import wait_for

DB_PUBLISH = 7
RETRY_SCHEDULE = "0,1,1,1"  # four attempts, a second apart
MAX_IN_FLIGHT = 2
#: in flight while a partner answers quickly (``SYNDICATE_WEBHOOK_MAX_IN_FLIGHT_QUICK``): a
#: partner that starts to hang can take this many before its oldest attempt counts as slow
MAX_IN_FLIGHT_QUICK = 3
READ_TIMEOUT = 60


@pytest.fixture(scope="session")
def external_hub() -> Iterator[Receiver]:
    """A stand-in for an external WebSub hub (e.g. a public one) told of every change."""
    hub = Receiver().start()
    yield hub
    hub.stop()


@pytest.fixture(scope="session")
def publish_service(
    redis_server: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
    external_hub: Receiver,
) -> Iterator[Service]:
    url = redis_url(redis_server, DB_PUBLISH)
    redis.Redis.from_url(url).flushdb()
    service = Service(
        redis_url=url,
        data_dir=tmp_path_factory.mktemp("publish"),
        env_extra={
            "SYNDICATE_WEBHOOK_RETRY_SCHEDULE": RETRY_SCHEDULE,
            "SYNDICATE_WEBHOOK_MAX_IN_FLIGHT": str(MAX_IN_FLIGHT),
            "SYNDICATE_WEBHOOK_MAX_IN_FLIGHT_QUICK": str(MAX_IN_FLIGHT_QUICK),
            "SYNDICATE_WEBHOOK_READ_TIMEOUT": str(READ_TIMEOUT),
            "SYNDICATE_VISIBILITY_TIMEOUT": "3",
            "SYNDICATE_WEBSUB_LEASE_MIN_SECONDS": "1",
            "SYNDICATE_WEBSUB_PUBLISH_HUBS": external_hub.url.replace("/hook", "/hub"),
        },
    )
    try:
        service.start_all()
        yield service
    finally:
        service.stop()


@pytest.fixture
def injector(publish_service: Service) -> Iterator[Injector]:
    inj = Injector(publish_service.redis_url)
    yield inj
    inj.close()


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    """Receivers a test starts; all stopped at its end."""
    started: list[Receiver] = []
    yield started
    for receiver in started:
        receiver.stop()


@pytest.fixture
def subscriptions(publish_service: Service) -> Iterator[list[str]]:
    """Subscription ids a test creates; all deleted at its end (the service is shared)."""
    made: list[str] = []
    yield made
    for sub_id in made:
        publish_service.unsubscribe(sub_id)


def deliveries_of(service: Service, sub_id: str) -> list[dict[str, object]]:
    response = requests.get(
        f"{service.base_url}/v1/subscriptions/{sub_id}/deliveries",
        headers=service.auth(),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def subscription(service: Service, sub_id: str) -> dict[str, object]:
    response = requests.get(
        f"{service.base_url}/v1/subscriptions/{sub_id}", headers=service.auth(), timeout=10
    )
    return dict(response.json())


def wait_intent(service: Service, intent_id: str, timeout: float = 30) -> dict[str, object]:
    """Wait until the hub has verified (or refused) a subscription request."""

    def done() -> dict[str, object] | None:
        got = requests.get(
            f"{service.base_url}/v1/websub/intents/{intent_id}",
            headers=service.auth(),
            timeout=10,
        ).json()
        return got if got.get("state") != "pending" else None

    return wait_for(done, timeout=timeout, interval=0.1, message=f"intent {intent_id} settled")


def wait_log(path: Path, text: str, timeout: float = 30) -> None:
    def seen() -> bool:
        return path.exists() and text in path.read_text(errors="replace")

    wait_for(seen, timeout=timeout, interval=0.1, message=f"{text!r} in {path.name}")
