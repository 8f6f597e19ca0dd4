"""Our signatures verify with the independent `standardwebhooks` package."""

from __future__ import annotations

import json

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.publish.signing import new_secret, sign, signature_header, webhook_headers

# A fixed vector (also in docs/events.md): anyone can check their verifier against it.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "evt_vector"
VECTOR_TS = 1700000000
VECTOR_BODY = b'{"data":{},"timestamp":"2023-11-14T22:13:20+00:00","type":"story.published"}'
VECTOR_SIGNATURE = "v1,+CVfWFg48irrm+wr2hQbG0pNKeOau4jiqcVvYXSg0DU="


def test_signing_vector() -> None:
    from datetime import UTC, datetime

    assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY) == VECTOR_SIGNATURE
    independent = Webhook(VECTOR_SECRET).sign(
        VECTOR_ID, datetime.fromtimestamp(VECTOR_TS, UTC), VECTOR_BODY.decode()
    )
    assert independent == VECTOR_SIGNATURE


def test_standardwebhooks_verifies_our_headers() -> None:
    import time

    secret = new_secret()
    body = json.dumps({"type": "story.published", "data": {"id": "st_1"}}).encode()
    headers = webhook_headers([secret], "evt_1", int(time.time()), body)
    assert Webhook(secret).verify(body, headers) == {
        "type": "story.published",
        "data": {"id": "st_1"},
    }


def test_two_secrets_give_two_signatures_each_verifiable() -> None:
    import time

    old, new = new_secret(), new_secret()
    body = b'{"type":"story.updated"}'
    ts = int(time.time())
    headers = webhook_headers([new, old], "evt_2", ts, body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(body, headers)
    Webhook(new).verify(body, headers)


def test_tampered_body_fails() -> None:
    import time

    secret = new_secret()
    headers = webhook_headers([secret], "evt_3", int(time.time()), b"{}")
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"x":1}', headers)


def test_signature_header_is_deterministic() -> None:
    assert signature_header([VECTOR_SECRET], VECTOR_ID, VECTOR_TS, VECTOR_BODY) == VECTOR_SIGNATURE
