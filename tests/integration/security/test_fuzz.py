"""Schemathesis fuzzes the live API (real HTTP on loopback) against its own ``/openapi.json``.

For every operation it generates valid and invalid requests (bodies of every documented media
type, parameters, headers) and checks each answer: never a ``5xx``; a status code the description
lists; a body, content type and headers that match what it says for that status; auth that is
really enforced where it is declared. Bounded: a fixed number of examples per operation,
derandomised (the same cases every run), no example database.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
)

from services.app import create_app
from shared.redis_server import RedisServer
from tests.integration.security.conftest import API_ADMIN, bearer, serving

EXAMPLES_PER_OPERATION = 30
#: checks of what a request may expect, not of what the API answers: a request of the right
#: shape is still refused for its content (422 unreadable copy, a target the SSRF guard refuses,
#: a malformed hub request), and unknown query parameters are ignored, as HTTP APIs do
NOT_CHECKED = (positive_data_acceptance, negative_data_rejection)


@pytest.fixture(scope="module")
def fuzz_api(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # limits high enough that the fuzzer's own pace is never what it tests
    with serving(
        redis_server,
        tmp_path_factory.mktemp("fuzz"),
        RATE_LIMIT_TOKEN_PER_SECOND="100000",
        RATE_LIMIT_TOKEN_BURST="100000",
        RATE_LIMIT_ANONYMOUS_PER_SECOND="100000",
        RATE_LIMIT_ANONYMOUS_BURST="100000",
    ) as base_url:
        yield base_url


#: the description the app serves at /openapi.json (built in-process at collection; the test
#: below checks the live server serves exactly this)
DESCRIPTION = create_app().openapi()
schema = schemathesis.openapi.from_dict(DESCRIPTION)


def test_the_live_app_serves_the_fuzzed_description(fuzz_api: str) -> None:
    assert requests.get(f"{fuzz_api}/openapi.json", timeout=10).json() == DESCRIPTION


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_as_it_describes(fuzz_api: str, case: schemathesis.Case) -> None:
    excluded = list(NOT_CHECKED)
    if case.operation.path == "/readyz":
        excluded.append(not_a_server_error)  # 503 is its documented answer without workers
    response = case.call_and_validate(
        base_url=fuzz_api, headers=bearer(API_ADMIN), excluded_checks=excluded
    )
    assert response.status_code < 500 or case.operation.path == "/readyz"
