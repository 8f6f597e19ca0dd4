"""Hostile copy through the whole live service: scripts, iframes, event handlers and
``javascript:`` links in headlines, bodies, bylines, sections and captions of several formats
reach no feed format, no webhook payload, no WebSub distribution and no story JSON; CR/LF in a
headline, section or byline reaches no HTTP header we serve (feeds) or send (webhooks, WebSub)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import lxml.etree as etree
import lxml.html
import pytest
import requests

from tests.integration.publish.conftest import wait_intent
from tests.integration.security.conftest import INGEST_TOKEN, bearer
from tests.support.rawhttp import request
from tests.support.receiver import Receiver
from tests.support.service import Service
from tests.support.waiting import wait_for
from tests.support.websub_callback import Callback

INJECTED = "X-Injected"
#: what must never appear in text a reader's browser or a partner's page might interpret
ACTIVE = ("<script", "<iframe", "<object", "<embed", "javascript:", "onerror", "onload", "<svg")


def _text_copy() -> tuple[bytes, str]:
    return (
        b"Seals <script>alert('text')</script>return to <iframe src='https://evil.test/'>"
        b"</iframe>the estuary\r\nX-Injected: from-text\r\n\r\n"
        b"OSLO, March 4 (Reuters) - Volunteers <img src=x onerror=alert(1)> counted "
        b"<a href=\"javascript:alert('a')\">seals</a> on Tuesday.\r\n\r\n"
        b"More <svg onload=alert(2)>text</svg> follows here.\r\n\r\n"
        b"(Reporting by Ana Lima; Editing by Bo Chen)\r\n",
        "text/x-wire",
    )


def _ninjs_copy() -> tuple[bytes, str]:
    item = {
        "uri": "urn:sec:ninjs:1",
        "type": "text",
        "headline": "Ninjs <iframe src=//evil.test></iframe>storm warning\r\nX-Injected: ninjs",
        "service": [{"name": "Weather\r\nX-Injected: section <script>s()</script>"}],
        "byline": "By <script>x()</script>Ola Berg\r\nX-Injected: byline",
        "description_text": "<style>p{}</style>A storm is coming.",
        "body_html": (
            "<p>BERGEN (Reuters) - A storm <iframe src='https://evil.test'></iframe>is due "
            "<script>steal()</script>tonight.</p>"
            "<p onclick=\"alert(1)\">Keep <a href='javascript:alert(2)'>indoors</a>.</p>"
            "<object data='x.swf'></object><embed src='y.swf'>"
        ),
        "associations": {
            "pic": {
                "type": "picture",
                "uri": "urn:sec:pic:1",
                "renditions": {"r": {"href": "javascript:alert(3)"}},
                "description_text": "Waves <img src=x onerror=alert(4)>hit the pier.",
                "byline": "Eva Holm/REUTERS<script>y()</script>",
            }
        },
    }
    return json.dumps(item).encode(), "application/ninjs+json"


def _nitf_copy() -> tuple[bytes, str]:
    return (
        b"""<?xml version="1.0" encoding="utf-8"?>
<nitf><head><docdata><doc-id id-string="sec-nitf-1"/></docdata></head><body><body.head>
<hedline><hl1>&lt;script&gt;alert(1)&lt;/script&gt;Ferry timetable changes&#13;&#10;X-Injected: nitf</hl1></hedline>
<byline>By &lt;img src=x onerror=alert(5)&gt;Gra Brian</byline>
<dateline><location>KIRKWALL</location></dateline></body.head>
<body.content><p>KIRKWALL (AP) - The ferry &lt;iframe src="https://evil.test"&gt;&lt;/iframe&gt;adds a
sailing <a href="javascript:alert(6)">from June</a>.</p>
<p>Fares stay &lt;svg onload=alert(7)&gt;the same.</p></body.content></body></nitf>""",
        "application/nitf+xml",
    )


def _rss_copy() -> tuple[bytes, str]:
    return (
        b"""<?xml version="1.0"?><rss version="2.0"
 xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Site</title>
<item><title>Markets &lt;script&gt;alert(8)&lt;/script&gt;rally on rate hopes</title>
<link>javascript:alert(9)</link><guid>sec-rss-1</guid>
<dc:creator>&lt;b onmouseover=alert(10)&gt;Di Ewa&lt;/b&gt;</dc:creator>
<category>Markets&#13;&#10;X-Injected: rss</category>
<content:encoded><![CDATA[<p>LONDON (Reuters) - Stocks rose <script>alert(11)</script>on
Tuesday.</p><iframe src="https://evil.test/"></iframe><p>Bonds <a href="javascript:x()">fell</a>.</p>]]>
</content:encoded></item></channel></rss>""",
        "application/rss+xml",
    )


COPIES = {"text": _text_copy, "ninjs": _ninjs_copy, "nitf": _nitf_copy, "rss": _rss_copy}


@pytest.fixture(scope="module")
def hostile_run(security_service: Service) -> Iterator[dict[str, Any]]:
    """Subscribe a webhook receiver and a WebSub callback, post every hostile copy, and wait
    until each story is in the feeds, in a webhook and in a distribution."""
    service = security_service
    hook = Receiver().start()
    callback = Callback().start()
    try:
        sub = service.subscribe(hook.url, events=["story.published", "feed.updated"])
        topic = f"{service.base_url}/feeds/all.json"
        intent = requests.post(
            f"{service.base_url}/websub",
            data={"hub.mode": "subscribe", "hub.topic": topic, "hub.callback": callback.url},
            timeout=10,
        ).json()["intent"]
        assert wait_intent(service, intent)["state"] == "verified"

        answers = {}
        for name, make in COPIES.items():
            body, content_type = make()
            response = requests.post(
                f"{service.base_url}/v1/wire",
                data=body,
                headers={"Content-Type": content_type, **bearer(INGEST_TOKEN)},
                timeout=10,
            )
            assert response.status_code == 202, (name, response.text)
            answers[name] = response

        story_ids: dict[str, str] = {}
        for name, response in answers.items():
            wire_id = response.json()["id"]
            item = wait_for(
                lambda w=wire_id: (
                    (s := service.wire_status(w))["status"] != "accepted"
                    and s["status"] != "processing"
                    and s
                ),
                timeout=60,
                message=f"{name} to be processed",
            )
            assert item["status"] == "parsed", (name, item)
            story_ids[name] = item["story_ids"][0]

        def in_feed() -> bool:
            feed = service.get("/feeds/all.json").text
            return all(story_id in feed for story_id in story_ids.values())

        wait_for(in_feed, timeout=60, message="every hostile story in the feed")

        def webhooks() -> bool:
            got = {json.loads(b)["data"].get("id") for b in hook.bodies()}
            return set(story_ids.values()) <= got

        wait_for(webhooks, timeout=60, message="a webhook for every hostile story")

        def distributed() -> bool:
            return any(
                all(story_id in r.body.decode() for story_id in story_ids.values())
                for r in callback.contents()
            )

        wait_for(distributed, timeout=60, message="a WebSub distribution of them all")
        yield {
            "service": service,
            "story_ids": story_ids,
            "wire_answers": answers,
            "hook": hook,
            "callback": callback,
            "subscription": sub,
        }
    finally:
        hook.stop()
        callback.stop()


# --- what a reader or a partner could have executed -----------------------------------------


def assert_inert_text(text: str, where: str) -> None:
    lowered = text.lower()
    for word in ACTIVE:
        assert word not in lowered, f"{word!r} in {where}: {text[:300]!r}"


def assert_safe_html(fragment: str, where: str) -> None:
    """HTML a feed reader renders: allowlisted elements, no handlers, http(s) links only."""
    if not fragment.strip():
        return
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        assert element.tag not in ("script", "iframe", "object", "embed", "style", "svg"), where
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), (where, name, value)
            if name in ("href", "src"):
                assert value.lower().startswith(("http://", "https://")), (where, name, value)
    assert_inert_text(root.text_content(), where)


HTML_ELEMENTS = {
    "{http://purl.org/rss/1.0/modules/content/}encoded",
    "description",
    "{http://www.w3.org/2005/Atom}content",
    "{http://www.w3.org/2005/Atom}summary",
}


def check_xml_feed(data: bytes, where: str) -> None:
    root = etree.fromstring(data)
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        for name, value in element.attrib.items():
            assert_inert_text(f"{name}={value}", f"{where} @{name}")
        text = element.text or ""
        if element.tag in HTML_ELEMENTS and element.get("type", "html") in ("html", "xhtml"):
            assert_safe_html(text, f"{where} <{element.tag}>")
        else:
            assert_inert_text(text, f"{where} <{element.tag}>")


def check_json(value: Any, where: str) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "content_html" and isinstance(inner, str):
                assert_safe_html(inner, f"{where}.{key}")
            else:
                check_json(inner, f"{where}.{key}")
    elif isinstance(value, list):
        for n, inner in enumerate(value):
            check_json(inner, f"{where}[{n}]")
    elif isinstance(value, str):
        assert_inert_text(value, where)


def feeds_of(run: dict[str, Any]) -> list[str]:
    """Every feed document the hostile stories are in (all, sections, agencies, people)."""
    service: Service = run["service"]
    listed = service.get("/feeds").json()["feeds"]
    return sorted({f"{feed['name']}.{fmt}" for feed in listed for fmt in ("rss", "atom", "json")})


def test_no_feed_format_carries_active_content(hostile_run: dict[str, Any]) -> None:
    service: Service = hostile_run["service"]
    checked = 0
    for document in feeds_of(hostile_run):
        response = service.get(f"/feeds/{document}")
        if response.status_code == 404:
            continue  # listed but not rendered yet (a feed made by another test)
        assert response.status_code == 200, document
        if document.endswith(".json"):
            check_json(response.json(), document)
        else:
            check_xml_feed(response.content, document)
        checked += 1
    assert checked >= 9, checked


def test_the_hostile_stories_are_in_the_feeds_with_their_words(
    hostile_run: dict[str, Any],
) -> None:
    """The stories were not dropped: their harmless words are there, only the markup went."""
    feed = hostile_run["service"].get("/feeds/all.json").json()
    titles = " ".join(item["title"] for item in feed["items"])
    for words in ("return to the estuary", "storm warning", "Ferry timetable", "rally on rate"):
        assert words in titles, titles


def test_story_json_and_webhook_payloads_are_plain_text(hostile_run: dict[str, Any]) -> None:
    service: Service = hostile_run["service"]
    for name, story_id in hostile_run["story_ids"].items():
        check_json(service.get(f"/v1/stories/{story_id}").json(), f"story {name}")
    bodies = hostile_run["hook"].bodies()
    assert bodies
    for body in bodies:
        check_json(json.loads(body), "webhook payload")


def test_websub_distributions_carry_no_active_content(hostile_run: dict[str, Any]) -> None:
    for received in hostile_run["callback"].contents():
        check_json(json.loads(received.body), "WebSub distribution")


# --- header injection ----------------------------------------------------------------------


def assert_clean_headers(headers: dict[str, str], where: str) -> None:
    for name, value in headers.items():
        assert INJECTED.lower() not in name.lower(), (where, name)
        assert "\r" not in value and "\n" not in value, (where, name, value)
        assert "X-Injected" not in value, (where, name, value)


def test_no_header_we_serve_carries_an_injected_line(hostile_run: dict[str, Any]) -> None:
    service: Service = hostile_run["service"]
    for document in feeds_of(hostile_run):
        for method in ("GET", "HEAD"):
            answer = request(service.base_url, method, f"/feeds/{document}")
            assert_clean_headers(answer.headers, f"{method} /feeds/{document}")
    for response in hostile_run["wire_answers"].values():
        assert_clean_headers(dict(response.headers), "POST /v1/wire")
    for story_id in hostile_run["story_ids"].values():
        answer = request(service.base_url, "GET", f"/v1/stories/{story_id}")
        assert_clean_headers(answer.headers, "GET /v1/stories")


def test_no_header_we_send_carries_an_injected_line(hostile_run: dict[str, Any]) -> None:
    hook: Receiver = hostile_run["hook"]
    callback: Callback = hostile_run["callback"]
    sent = [*hook.snapshot(), *callback.snapshot()]
    assert any(r.method == "POST" for r in callback.snapshot())
    for received in sent:
        assert_clean_headers(received.headers, f"{received.method} {received.path}")
        assert "\r" not in received.path and "\n" not in received.path
    feeds = {f["name"] for f in hostile_run["service"].get("/feeds").json()["feeds"]}
    assert not any("\r" in name or "\n" in name or " " in name for name in feeds), feeds
