"""The HTTP client's deadline watchdog and guard check, without a server: a deadline armed after
a later one still expires on time (the thread is woken only for a sooner one); an address is
checked without the lookup threads, a host name only with them."""

from __future__ import annotations

import ipaddress
from concurrent.futures import Future
from typing import Any

import pytest

from shared import http
from tests.support.waiting import wait_for


def test_deadlines_expire_on_time_whatever_order_they_are_armed_in() -> None:
    watchdog = http._Watchdog()
    late = http._Deadline(30.0)
    soon = http._Deadline(0.2)
    never = http._Deadline(0.3)
    watchdog.arm(late)  # the thread now sleeps until this one
    watchdog.arm(soon)  # sooner: it must be woken
    watchdog.arm(never)
    watchdog.disarm(never)  # disarmed before its time: never expires
    wait_for(lambda: soon.expired, timeout=5, message="the sooner deadline to expire")
    later = http._Deadline(0.2)  # armed while the thread sleeps until `late`
    watchdog.arm(later)
    wait_for(lambda: later.expired, timeout=5, message="a deadline armed later to expire")
    assert not late.expired and not never.expired
    watchdog.disarm(late)


class _RecordingPool:
    """A lookup pool that records what it is given and runs it at once."""

    def __init__(self) -> None:
        self.given: list[Any] = []

    def submit(self, fn: Any) -> Future[Any]:
        self.given.append(fn)
        future: Future[Any] = Future()
        future.set_result(fn())
        return future


def test_an_address_is_checked_without_the_lookup_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    pool = _RecordingPool()
    monkeypatch.setattr(http, "_LOOKUPS", pool)
    guard = http.Guard(allowed=[ipaddress.ip_network("127.0.0.0/8")], allow_http=True)
    target = http._checked("http://127.0.0.1:9/hook", guard, 1.0)
    assert str(target.address) == "127.0.0.1"
    assert pool.given == []
    named = http.Guard(
        allowed=[ipaddress.ip_network("127.0.0.0/8")],
        allow_http=True,
        resolver=lambda host, port: [ipaddress.ip_address("127.0.0.1")],
    )
    assert str(http._checked("http://hooks.test:9/", named, 1.0).address) == "127.0.0.1"
    assert len(pool.given) == 1, "a name (or a resolver of our own) goes through the lookup pool"
    assert http._is_address("http://[::1]:8080/x") and not http._is_address("http://[::1/x")
