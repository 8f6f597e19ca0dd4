"""Secrets never appear in logs or in any listing after creation: webhook secrets (before and
after rotation), WebSub secrets, API tokens of both scopes; not in problem details, not in echoes
of rejected input, not in the workers' DEBUG logs (which show Celery task arguments).

One live run (the security service, every part logging at DEBUG) creates, rotates and uses
secrets, fails a few deliveries, replays one and makes the API refuse secret-bearing requests;
then every log line of every part and every listing the API has are searched for each secret.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.integration.publish.conftest import wait_intent
from tests.integration.security.conftest import ADMIN_TOKEN, INGEST_TOKEN, bearer
from tests.support.receiver import Receiver
from tests.support.service import Service
from tests.support.waiting import wait_for
from tests.support.websub_callback import Callback

WEBSUB_SECRET = "wsub-secret-3e9b7c1a5d"


def secret_forms(secret: str) -> list[str]:
    """A secret and the forms it could leak in (a whsec_ secret's key, its base64 decoding)."""
    forms = [secret]
    if secret.startswith("whsec_"):
        key = secret.removeprefix("whsec_")
        forms += [key, base64.b64decode(key).hex()]
    return forms


def post_copy(service: Service, headline: str) -> str:
    response = requests.post(
        f"{service.base_url}/v1/wire",
        data=f"{headline}\n\nOSLO (Reuters) - A paragraph about {headline}.".encode(),
        headers={"Content-Type": "text/x-wire", **bearer(INGEST_TOKEN)},
        timeout=10,
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


@pytest.fixture(scope="module")
def secret_run(security_service: Service) -> Iterator[dict[str, Any]]:
    service = security_service
    hook = Receiver().start()
    failing = Receiver(statuses=[500] * 50).start()
    callback = Callback().start()
    refusals: list[requests.Response] = []
    try:
        created = service.subscribe(hook.url, description="secret test")
        first_secret = str(created["secret"])
        sub_id = str(created["id"])
        failing_sub = service.subscribe(failing.url)
        post_copy(service, "Secret test story one")
        wait_for(lambda: hook.bodies(), timeout=60, message="a signed webhook")

        rotated = requests.post(
            f"{service.base_url}/v1/subscriptions/{sub_id}/rotate-secret",
            headers=service.auth(),
            timeout=10,
        ).json()
        second_secret = str(rotated["secret"])
        post_copy(service, "Secret test story two")
        wait_for(
            lambda: any(" " in r.headers.get("webhook-signature", "") for r in hook.snapshot()),
            timeout=60,
            message="a webhook signed with both secrets",
        )

        intent = requests.post(
            f"{service.base_url}/websub",
            data={
                "hub.mode": "subscribe",
                "hub.topic": f"{service.base_url}/feeds/all.atom",
                "hub.callback": callback.url,
                "hub.secret": WEBSUB_SECRET,
            },
            timeout=10,
        ).json()["intent"]
        assert wait_intent(service, intent)["state"] == "verified"
        post_copy(service, "Secret test story three")
        wait_for(
            lambda: any("x-hub-signature" in {k.lower() for k in r.headers}
                        for r in callback.contents()),
            timeout=60,
            message="a signed WebSub distribution",
        )  # fmt: skip

        dead = wait_for(
            lambda: requests.get(
                f"{service.base_url}/v1/deliveries?state=dead", headers=service.auth(), timeout=10
            ).json()["items"],
            timeout=60,
            message="a dead letter from the failing partner",
        )
        replay = requests.post(
            f"{service.base_url}/v1/deliveries/{dead[0]['id']}/replay",
            headers=service.auth(),
            timeout=10,
        )
        assert replay.status_code == 202, replay.text

        # requests the API must refuse without repeating the secret they carry
        base = service.base_url
        refusals += [
            requests.post(
                f"{base}/v1/subscriptions",
                json={"url": hook.url, "secret": second_secret},
                headers=service.auth(),
                timeout=10,
            ),
            requests.patch(
                f"{base}/v1/subscriptions/{sub_id}",
                json={"secret": first_secret, "events": [second_secret]},
                headers=service.auth(),
                timeout=10,
            ),
            requests.post(
                f"{base}/websub",
                data={
                    "hub.mode": "subscribe",
                    "hub.topic": f"{base}/feeds/all.atom",
                    "hub.callback": callback.url,
                    "hub.secret": WEBSUB_SECRET * 20,
                },
                timeout=10,
            ),
            requests.get(f"{base}/v1/subscriptions", headers=bearer(INGEST_TOKEN), timeout=10),
            requests.get(f"{base}/v1/subscriptions", headers=bearer(ADMIN_TOKEN + "x"), timeout=10),
            requests.post(
                f"{base}/v1/wire",
                data=b"x",
                headers={"Authorization": f"Basic {ADMIN_TOKEN}", "Content-Type": "text/plain"},
                timeout=10,
            ),
        ]
        assert {r.status_code for r in refusals} <= {400, 401, 403, 422}, [
            (r.status_code, r.text) for r in refusals
        ]
        yield {
            "service": service,
            "secrets": [
                *secret_forms(first_secret),
                *secret_forms(second_secret),
                WEBSUB_SECRET,
                ADMIN_TOKEN,
                INGEST_TOKEN,
            ],
            "refusals": refusals,
            "subscriptions": [sub_id, str(failing_sub["id"])],
            "intent": intent,
            "dead": str(dead[0]["id"]),
        }
    finally:
        hook.stop()
        failing.stop()
        callback.stop()


def leaks(text: str, secrets: list[str]) -> list[str]:
    return [secret for secret in secrets if secret in text]


def test_refused_requests_do_not_echo_the_secrets_they_carry(secret_run: dict[str, Any]) -> None:
    for response in secret_run["refusals"]:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert leaks(response.text, secret_run["secrets"]) == [], response.text
        assert leaks(json.dumps(dict(response.headers)), secret_run["secrets"]) == []


def listings(run: dict[str, Any]) -> list[str]:
    """Every read the API offers, as the admin would call it."""
    subs = run["subscriptions"]
    paths = ["/", "/feeds", "/openapi.json", "/metrics", "/readyz", "/healthz",
             "/v1/stories?limit=50", "/v1/quarantine", "/v1/subscriptions",
             "/v1/deliveries?state=dead", f"/v1/deliveries/{run['dead']}",
             "/v1/websub/subscriptions", f"/v1/websub/intents/{run['intent']}",
             "/feeds/all.rss", "/feeds/all.atom", "/feeds/all.json"]  # fmt: skip
    for sub_id in subs:
        paths += [f"/v1/subscriptions/{sub_id}", f"/v1/subscriptions/{sub_id}/deliveries"]
    return paths


def test_no_listing_shows_a_secret(secret_run: dict[str, Any]) -> None:
    service: Service = secret_run["service"]
    checked = 0
    for path in listings(secret_run):
        response = service.get(path, headers=service.auth())
        assert response.status_code == 200, (path, response.text)
        assert leaks(response.text, secret_run["secrets"]) == [], path
        checked += len(response.content)
        for item in (
            response.json().get("items", [])
            if "json" in response.headers.get("content-type", "") and path.startswith("/v1/")
            else []
        ):
            assert "secret" not in item, (path, item)
    assert checked > 10_000
    # the wire items too (the copy itself is not secret, the token that sent it is)
    stories = service.get("/v1/stories?limit=50").json()["items"]
    for story in stories:
        wire = service.get(f"/v1/wire/{story['wire_id']}").text
        assert leaks(wire, secret_run["secrets"]) == []


def test_no_log_line_of_any_part_holds_a_secret(secret_run: dict[str, Any]) -> None:
    service: Service = secret_run["service"]
    logs = {path.name: path.read_text(errors="replace") for path in
            sorted((service.data_dir / "logs").glob("*.log"))}  # fmt: skip
    assert {"api.log", "ingest.log", "render.log", "publish.log", "scheduler.log"} <= set(logs)
    # the logs saw the run: task arguments at DEBUG, attempts, the WebSub verification
    publish = logs["publish.log"]
    assert secret_run["subscriptions"][0] in publish or "deliver" in publish
    assert "WebSub subscribe" in publish and secret_run["intent"] in publish
    assert "TaskPool: Apply" in publish  # Celery's DEBUG line with every task's arguments
    for name, text in logs.items():
        found = leaks(text, secret_run["secrets"])
        assert found == [], f"{name} holds {found}"
