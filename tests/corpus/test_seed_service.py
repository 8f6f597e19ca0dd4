"""Done-when of the pipeline issue: the seed, posted to the running service, shows in
/feeds/all.rss under its real headline (not the site name) and reaches a registered webhook whose
signature the independent `standardwebhooks` package verifies."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import pytest
from standardwebhooks.webhooks import Webhook

from tests.support.receiver import Receiver
from tests.support.service import Service
from tests.support.waiting import wait_for


@pytest.mark.integration
def test_seed_through_the_running_service(corpus_dir: Path, live_service: Service) -> None:
    expected_path = sorted((corpus_dir / "seed").glob("*.expected.json"))[0]
    text_path = expected_path.with_name(expected_path.name.replace(".expected.json", ".txt"))
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    receiver = Receiver().start()
    sub = live_service.subscribe(receiver.url, filter={"agencies": ["Reuters"]})
    try:
        assert live_service.post_wire(text_path.read_bytes()).status_code == 202

        def titles() -> list[str]:
            feed = feedparser.parse(live_service.get("/feeds/all.rss").content)
            return [entry.title for entry in feed.entries]

        wait_for(
            lambda: expected["headline"] in titles(), timeout=30, message="the seed in the feed"
        )
        assert expected["publisher"] not in titles()

        def seed_delivery() -> tuple[bytes, dict[str, str]] | None:
            for request in receiver.snapshot():
                if json.loads(request.body)["data"].get("headline") == expected["headline"]:
                    return request.body, {k.lower(): v for k, v in request.headers.items()}
            return None

        body, headers = wait_for(seed_delivery, timeout=30, message="the seed's webhook")
        payload = Webhook(str(sub["secret"])).verify(body, headers)
        assert payload["data"]["credit_line"] == expected["credit_line"]
        assert payload["data"]["agency"] == expected["agency"]
    finally:
        live_service.unsubscribe(str(sub["id"]))
        receiver.stop()
