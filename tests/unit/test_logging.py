"""Log lines: the JSON and text formatters, the ids bound in context, secrets masked."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from types import MappingProxyType

import pytest

from shared.logging import (
    REDACTED,
    ContextFilter,
    JsonFormatter,
    Redactor,
    TextFormatter,
    _context,
    add,
    bind,
    current,
    formatter,
    notice_writer,
)


@pytest.fixture(autouse=True)
def clean_context() -> Iterator[None]:
    """Each test starts with no ids bound, whatever ran before it in this process."""
    token = _context.set(MappingProxyType({}))
    yield
    _context.reset(token)


@pytest.fixture
def lines() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing JSON lines to a buffer through the context filter, as processes do."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter("worker-ingest", Redactor(["tok-admin-0123456789"])))
    logger = logging.getLogger("tests.logging")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, buffer
    logger.removeHandler(handler)


def parsed(buffer: io.StringIO) -> list[dict[str, str]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_bind_nests_and_restores() -> None:
    assert current() == {}
    with bind(story_id="st_1"):
        with bind(event_id="evt_1", delivery_id=None):
            assert current() == {"story_id": "st_1", "event_id": "evt_1"}
            add(subscription_id="sub_1")
            assert current()["subscription_id"] == "sub_1"
        assert current() == {"story_id": "st_1"}
    assert current() == {}


def test_only_known_fields_bind() -> None:
    with pytest.raises(ValueError, match="not a log context field: secret"), bind(secret="x"):
        pass


def test_a_json_line_carries_the_ids_bound_when_it_was_logged(
    lines: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, buffer = lines
    logger.info("before")
    with bind(story_id="st_1", event_id="evt_1", task_id="t-1"):
        logger.info("stored %s", "v2")
    logger.warning("after")
    before, inside, after = parsed(buffer)
    assert inside["msg"] == "stored v2"
    assert inside["level"] == "INFO"
    assert inside["logger"] == "tests.logging"
    assert inside["process"] == "worker-ingest"
    assert {k: inside[k] for k in ("story_id", "event_id", "task_id")} == {
        "story_id": "st_1",
        "event_id": "evt_1",
        "task_id": "t-1",
    }
    assert inside["ts"].endswith("+00:00") and "T" in inside["ts"]
    assert "story_id" not in before and "story_id" not in after
    assert after["level"] == "WARNING"


def test_a_library_line_inside_a_bind_carries_the_ids_too() -> None:
    """The filter sits on the handler, so a logger that is not ours (propagating to it) gets
    the ids without knowing about them."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter("api"))
    parent = logging.getLogger("tests.lib")
    parent.addHandler(handler)
    parent.setLevel(logging.INFO)
    parent.propagate = False
    try:
        with bind(delivery_id="dlv_1"):
            logging.getLogger("tests.lib.http.client").info("connection pool full")
    finally:
        parent.removeHandler(handler)
    (line,) = parsed(buffer)
    assert line["logger"] == "tests.lib.http.client"
    assert line["delivery_id"] == "dlv_1"


def test_ids_do_not_leak_between_threads(lines: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = lines
    with bind(story_id="st_main"):
        worker = threading.Thread(target=lambda: logger.info("in a thread"))
        worker.start()
        worker.join()
    (line,) = parsed(buffer)
    assert "story_id" not in line


def test_a_traceback_goes_in_exc(lines: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = lines
    try:
        raise RuntimeError("parser crashed")
    except RuntimeError:
        logger.exception("quarantined")
    (line,) = parsed(buffer)
    assert line["msg"] == "quarantined"
    assert "Traceback" in line["exc"] and "RuntimeError: parser crashed" in line["exc"]


def test_secrets_are_masked_in_messages_and_tracebacks(
    lines: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, buffer = lines
    secret = "whsec_c2VjcmV0LWtleS1ieXRlcy0wMTIzNDU2Nzg5"
    logger.info("created subscription with secret %s", secret)
    logger.info("header Authorization: Bearer abc.def-123 from 127.0.0.1")
    logger.info("token tok-admin-0123456789 refused")
    try:
        raise ValueError(f"bad signature for {secret}")
    except ValueError:
        logger.exception("failed")
    text = buffer.getvalue()
    for leaked in (secret, "abc.def-123", "tok-admin-0123456789", "c2VjcmV0LWtleS1ieXRlcy0w"):
        assert leaked not in text
    first, bearer, token, failed = parsed(buffer)
    assert first["msg"] == f"created subscription with secret {REDACTED}"
    assert bearer["msg"] == f"header Authorization: Bearer {REDACTED} from 127.0.0.1"
    assert token["msg"] == f"token {REDACTED} refused"
    assert REDACTED in failed["exc"]


def test_the_text_line_appends_the_ids() -> None:
    record = logging.LogRecord("syndicate.x", logging.INFO, __file__, 1, "sent %s", ("it",), None)
    record.story_id = "st_1"
    record.event_id = "evt_9"
    line = TextFormatter("worker-publish").format(record)
    assert line.endswith("syndicate.x: sent it [story_id=st_1 event_id=evt_9]")
    assert " INFO worker-publish[" in line


def test_the_format_is_text_or_json() -> None:
    assert isinstance(formatter("api", "json"), JsonFormatter)
    assert isinstance(formatter("api", "text"), TextFormatter)
    with pytest.raises(ValueError, match="log format must be one of text, json"):
        formatter("api", "yaml")


def test_celery_notices_become_json_lines_with_secrets_masked(
    settings_env: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    settings_env.setenv("SYNDICATE_API_TOKENS", "tok-notice-secret-1234")
    say = notice_writer("worker-publish")
    say("worker: Warm shutdown (MainProcess) tok-notice-secret-1234")
    line = capfd.readouterr().err.strip()
    record = json.loads(line)
    assert record["msg"] == f"worker: Warm shutdown (MainProcess) {REDACTED}"
    assert (record["process"], record["logger"], record["level"]) == (
        "worker-publish",
        "celery.apps.worker",
        "INFO",
    )
    assert {"ts", "pid"} <= set(record)
