"""Withheld (embargoed) and withdrawn (killed) stories are not readable without a token: public
reads show usable stories only; with an admin bearer token everything is readable (an ingest
token, which may only post copy, reads what the public reads)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
import requests

from shared import stories
from shared.redis_server import RedisServer
from tests.conftest import DB_INGEST_API, _clear_caches, redis_url
from tests.support.api_server import serve_app
from tests.support.stories import rich_story

AUTH = {"Authorization": "Bearer test-token"}


@pytest.fixture
def api_with_stories(redis_server: RedisServer, settings_env: pytest.MonkeyPatch) -> Iterator[str]:
    """The API over a database holding a usable, a withheld, a killed and a released story."""
    url = redis_url(redis_server, DB_INGEST_API)
    settings_env.setenv("SYNDICATE_REDIS_URL", url)
    settings_env.setenv("SYNDICATE_API_TOKENS", "test-token")
    settings_env.setenv("SYNDICATE_INGEST_TOKENS", "wire-token")
    client = redis.Redis.from_url(url)
    client.flushdb()
    _clear_caches()
    stories.save_version(client, rich_story(1, id="st_usable", headline="Seals are back"))
    stories.save_version(
        client, rich_story(2, id="st_held", headline="Embargoed results", status="withheld")
    )
    stories.save_version(client, rich_story(3, id="st_killed", headline="Sent in error"))
    stories.save_version(
        client,
        rich_story(3, id="st_killed", version=2, headline="Sent in error", status="withdrawn"),
    )
    stories.save_version(
        client, rich_story(4, id="st_released", headline="Embargo draft", status="withheld")
    )
    stories.save_version(client, rich_story(4, id="st_released", version=2, headline="Released"))
    with serve_app() as base:
        yield base
    client.flushdb()
    client.close()


def get(base: str, path: str, token: bool = False, **params: object) -> requests.Response:
    return requests.get(f"{base}{path}", params=params, headers=AUTH if token else {}, timeout=10)


def test_public_lists_show_usable_stories_only(api_with_stories: str) -> None:
    listed = get(api_with_stories, "/v1/stories").json()["items"]
    assert sorted(s["id"] for s in listed) == ["st_released", "st_usable"]
    for status in ("withheld", "withdrawn", "any"):
        refused = get(api_with_stories, "/v1/stories", status=status)
        assert refused.status_code == 401, status
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "Embargoed" not in refused.text and "Sent in error" not in refused.text


def test_a_token_lists_every_status(api_with_stories: str) -> None:
    held = get(api_with_stories, "/v1/stories", token=True, status="withheld").json()["items"]
    assert [s["id"] for s in held] == ["st_held"]
    killed = get(api_with_stories, "/v1/stories", token=True, status="withdrawn").json()["items"]
    assert [s["id"] for s in killed] == ["st_killed"]
    every = get(api_with_stories, "/v1/stories", token=True, status="any").json()["items"]
    assert len(every) == 4


def test_a_withdrawn_story_is_gone_and_a_withheld_one_not_found(api_with_stories: str) -> None:
    for path in ("/v1/stories/st_killed", "/v1/stories/st_killed/versions"):
        gone = get(api_with_stories, path)
        assert gone.status_code == 410, path
        assert gone.headers["content-type"].startswith("application/problem+json")
        assert "Sent in error" not in gone.text and "headline" not in gone.json()
    for path in ("/v1/stories/st_held", "/v1/stories/st_held/versions"):
        hidden = get(api_with_stories, path)
        assert hidden.status_code == 404, path
        assert "Embargoed" not in hidden.text


def test_public_versions_leave_out_the_withheld_ones(api_with_stories: str) -> None:
    versions = get(api_with_stories, "/v1/stories/st_released/versions").json()["items"]
    assert [(v["version"], v["headline"]) for v in versions] == [(2, "Released")]
    assert get(api_with_stories, "/v1/stories/st_usable").json()["headline"] == "Seals are back"


def test_with_a_token_everything_is_readable(api_with_stories: str) -> None:
    killed = get(api_with_stories, "/v1/stories/st_killed", token=True)
    assert killed.status_code == 200 and killed.json()["status"] == "withdrawn"
    held = get(api_with_stories, "/v1/stories/st_held", token=True)
    assert held.status_code == 200 and held.json()["headline"] == "Embargoed results"
    versions = get(api_with_stories, "/v1/stories/st_released/versions", token=True).json()
    assert [v["status"] for v in versions["items"]] == ["withheld", "usable"]


def test_a_wrong_token_is_401_not_a_public_read(api_with_stories: str) -> None:
    response = requests.get(
        f"{api_with_stories}/v1/stories/st_held",
        headers={"Authorization": "Bearer nope"},
        timeout=10,
    )
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"


def test_the_openapi_description_names_the_answers(api_with_stories: str) -> None:
    spec = get(api_with_stories, "/openapi.json").json()
    one = spec["paths"]["/v1/stories/{story_id}"]["get"]["responses"]
    assert {"404", "410"} <= set(one)
    versions = spec["paths"]["/v1/stories/{story_id}/versions"]["get"]["responses"]
    assert {"404", "410"} <= set(versions)


def test_an_ingest_token_reads_what_the_public_reads(api_with_stories: str) -> None:
    wire = {"Authorization": "Bearer wire-token"}
    held = requests.get(f"{api_with_stories}/v1/stories/st_held", headers=wire, timeout=10)
    assert held.status_code == 404 and "Embargoed" not in held.text
    killed = requests.get(f"{api_with_stories}/v1/stories/st_killed", headers=wire, timeout=10)
    assert killed.status_code == 410
    listed = requests.get(
        f"{api_with_stories}/v1/stories", params={"status": "withheld"}, headers=wire, timeout=10
    )
    assert listed.status_code == 401 and "Embargoed" not in listed.text
