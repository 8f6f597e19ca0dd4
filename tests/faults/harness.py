"""What every fault test needs: steady load, subscribers that record, a keeper that restarts
parts that die, and the invariants checked after each fault.

The invariants, for the wire ids a test was answered ``202`` for:
- every one is through ingest (``parsed``), and its story is in the ``all`` feed and in its
  section's feed (the JSON Feed walked back through its archive pages, ``next_url``);
- every subscriber got every event of those stories (by ``webhook-id``), and a story version
  never came under two different ``webhook-id`` values (duplicates only with the same id);
- nothing is stuck: the Celery queues and the unacked set are empty, the ingest outbox is
  empty (copy and story events), the publish due-set holds nothing overdue and no feed waits
  to render past its time.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import redis
import requests

from shared import keys, names
from tests.support.receiver import Received, Receiver
from tests.support.service import Service
from tests.support.waiting import wait_for

SECTIONS = ("Environment", "Business", "Science")
AGENCIES = ("Reuters", "AFP", "AP")
REPORTERS = ("Ana Lima", "Rui Costa", "Mia Berg")
QUEUES = (names.QUEUE_INGEST, names.QUEUE_RENDER, names.QUEUE_PUBLISH)


def wire_copy(tag: str, n: int, marker: str = "") -> tuple[bytes, str]:
    """Plain-text wire copy of our own, unique by ``tag``; returns it and its section."""
    section = SECTIONS[n % len(SECTIONS)]
    agency = AGENCIES[n % len(AGENCIES)]
    reporter = REPORTERS[n % len(REPORTERS)]
    copy = (
        "Harbour Gazette\n"
        f"{section}\n\n"
        f"Harbour Survey {tag} Counts More Boats Than Last Spring\n\n"
        f"LISBON, June 3 ({agency}) — The harbour survey {tag} counted more boats at the quay "
        f"this spring than last, its organisers said on Wednesday.{marker}\n\n"
        "They said new moorings had brought smaller boats back to the old harbour.\n\n"
        f"(Reporting by {reporter}; editing by Cy Dore)\n"
    )
    return copy.encode(), section


@dataclass
class Load:
    """Posts generated copy at a fixed rate from a background thread, until stopped."""

    service: Service
    rate: float = 12.0
    accepted: dict[str, str] = field(default_factory=dict)  # wire id -> section
    refused: Counter[str] = field(default_factory=Counter)  # status or error -> count
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Load:
        self._thread = threading.Thread(target=self._run, name="load", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        session = requests.Session()
        run = uuid.uuid4().hex[:8]
        started = time.monotonic()
        for n in itertools.count():
            # pacing a fixed rate, not waiting for an outcome
            if self._stop.wait(max(0.0, started + n / self.rate - time.monotonic())):
                break
            body, section = wire_copy(f"{run}x{n}", n)
            try:
                response = session.post(
                    f"{self.service.base_url}/v1/wire",
                    data=body,
                    headers={**self.service.auth(), "Content-Type": "text/plain"},
                    timeout=5,
                )
            except requests.RequestException as exc:
                with self._lock:
                    self.refused[type(exc).__name__] += 1
                continue
            with self._lock:
                if response.status_code == 202:
                    self.accepted[response.json()["id"]] = section
                else:
                    self.refused[str(response.status_code)] += 1
        session.close()

    def count(self) -> int:
        with self._lock:
            return len(self.accepted)

    def refused_total(self) -> int:
        with self._lock:
            return sum(self.refused.values())

    def stop(self) -> dict[str, str]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._lock:
            return dict(self.accepted)


class Keeper:
    """Restarts a part of the service that exited by itself (a crash), like ``syndicate up``'s
    supervisor; parts a test kills on purpose (``Service.kill``) are left to the test."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.restarts: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="keeper", daemon=True)

    def start(self) -> Keeper:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            for name, proc in list(self.service.procs.items()):
                if proc.poll() is not None and self.service.procs.get(name) is proc:
                    self.restarts[name] += 1
                    self.service.start(name)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@dataclass
class Subscribers:
    """Webhook receivers on fixed loopback ports, each subscribed to story events; one can be
    taken down and brought back on its port (what it received before is kept)."""

    service: Service
    count: int = 2
    receivers: list[Receiver] = field(default_factory=list)
    earlier: list[list[Receiver]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)

    def start(self) -> Subscribers:
        for _ in range(self.count):
            receiver = Receiver().start()
            sub = self.service.subscribe(receiver.url, events=["story.published"])
            self.ids.append(str(sub["id"]))
            self.receivers.append(receiver)
            self.earlier.append([])
        return self

    def take_down(self, i: int) -> None:
        self.receivers[i].stop()

    def bring_back(self, i: int) -> None:
        before = self.receivers[i]
        self.earlier[i].append(before)  # it may still record a request it was reading
        self.receivers[i] = Receiver(port=before.bound_port).start()

    def received(self, i: int) -> list[Received]:
        return [r for rec in [*self.earlier[i], self.receivers[i]] for r in rec.snapshot()]

    def states(self, i: int) -> dict[str, int]:
        """Deliveries of subscriber ``i`` by state (and attempts made), for a failure's report."""
        response = self.service.get(
            f"/v1/subscriptions/{self.ids[i]}/deliveries?limit=500", headers=self.service.auth()
        )
        found: Counter[str] = Counter()
        for delivery in response.json().get("items", []):
            found[f"{delivery['state']}/{len(delivery['attempts'])}"] += 1
        return dict(found)

    def stop(self) -> None:
        for receiver in self.receivers:
            receiver.stop()


def _feed_ids(service: Service, feed: str) -> set[str]:
    """Every story id in a feed: its JSON Feed and every archive page behind it."""
    found: set[str] = set()
    url: str | None = f"{service.base_url}/feeds/{feed}.json"
    pages = 0
    while url and pages < 200:
        response = requests.get(url, timeout=10)
        if response.status_code != 200:
            break
        document = response.json()
        found |= {item["id"].rsplit(":", 1)[-1] for item in document.get("items", [])}
        url = document.get("next_url")
        pages += 1
    return found


@dataclass
class Report:
    """What the invariants found; ``problems`` is empty when they all hold."""

    wires: int = 0
    stories: int = 0
    events: int = 0
    deliveries: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.wires} accepted, {self.stories} stories in their feeds, {self.events} events; "
            f"webhooks received per subscriber {self.deliveries} "
            f"(of which repeats with the same id {self.duplicates})"
        )


def stuck(client: redis.Redis, now: float | None = None) -> list[str]:
    """What is left waiting in Redis that should not be (empty when nothing is stuck)."""
    now = time.time() if now is None else now
    found = []
    prefix = keys.celery_prefix()
    for queue in QUEUES:
        for key in client.scan_iter(f"{prefix}{queue}*"):
            if client.type(key) == b"list" and client.llen(key):
                found.append(f"{client.llen(key)} messages in {key.decode()}")
    if client.llen(keys.publish_events()):
        found.append(f"{client.llen(keys.publish_events())} story events waiting for publish")
    if client.hlen(f"{prefix}unacked"):
        found.append(f"{client.hlen(f'{prefix}unacked')} unacked messages")
    if client.zcard(keys.wire_outbox()):
        found.append(f"{client.zcard(keys.wire_outbox())} entries in the ingest outbox")
    for consumer in ("render", "publish"):
        if client.zcard(keys.events_outbox(consumer)):
            waiting = client.zcard(keys.events_outbox(consumer))
            found.append(f"{waiting} story events not yet handled by {consumer}")
    overdue = client.zcount(keys.deliveries_due(), "-inf", now - 2)
    if overdue:
        found.append(f"{overdue} overdue deliveries in the due set")
    late = client.zcount(keys.feeds_dirty(), "-inf", now - 5)
    if late:
        found.append(f"{late} feed documents waiting to render past their time")
    return found


def check(
    service: Service,
    client: redis.Redis,
    accepted: dict[str, str],
    subscribers: Subscribers,
) -> Report:
    """The invariants for ``accepted`` (wire id -> section), checked once."""
    report = Report(wires=len(accepted))
    expected: set[str] = set()  # event ids
    sections: dict[str, set[str]] = {}
    for wire_id, section in accepted.items():
        # with the token: the checker's reads are many, and anonymous reads are rate-limited
        item = service.get(f"/v1/wire/{wire_id}", headers=service.auth()).json()
        if item.get("status") != "parsed":
            report.problems.append(f"{wire_id} is {item.get('status')}")
            continue
        story_ids = [str(s) for s in item["story_ids"]]  # type: ignore[union-attr]
        event_ids = [str(e) for e in item["event_ids"]]  # type: ignore[union-attr]
        sections.setdefault(section.lower(), set()).update(story_ids)
        expected.update(event_ids)
    everything = set().union(*sections.values()) if sections else set()
    in_all = _feed_ids(service, "all")
    missing = everything - in_all
    if missing:
        report.problems.append(f"{len(missing)} stories missing from the all feed")
    for section, wanted in sections.items():
        lost = wanted - _feed_ids(service, f"sections/{section}")
        if lost:
            report.problems.append(f"{len(lost)} stories missing from sections/{section}")
    report.stories = len(everything - missing)
    report.events = len(expected)
    for i in range(len(subscribers.receivers)):
        got = subscribers.received(i)
        ids_by_version: dict[tuple[str, int], set[str]] = {}
        seen: Counter[str] = Counter()
        for request in got:
            webhook_id = request.headers.get("webhook-id", "")
            data = json.loads(request.body)["data"]
            ids_by_version.setdefault((data["id"], data["version"]), set()).add(webhook_id)
            seen[webhook_id] += 1
        unseen = set(expected) - set(seen)
        if unseen:
            report.problems.append(f"subscriber {i} missed {len(unseen)} events")
        split = [v for v, ids in ids_by_version.items() if len(ids) > 1]
        if split:
            report.problems.append(f"subscriber {i}: {len(split)} versions under several ids")
        mine = [n for eid, n in seen.items() if eid in expected]
        report.deliveries.append(sum(mine))
        report.duplicates.append(sum(n - 1 for n in mine))
    report.problems += stuck(client)
    return report


def settle(
    service: Service,
    client: redis.Redis,
    accepted: dict[str, str],
    subscribers: Subscribers,
    *,
    timeout: float = 90.0,
) -> Report:
    """Wait (with a timeout) until the invariants hold; the last report either way."""
    started = time.monotonic()
    deadline = started + timeout
    shown = started
    while True:
        report = check(service, client, accepted, subscribers)
        if not report.problems or time.monotonic() > deadline:
            return report
        if time.monotonic() - shown > 10:
            shown = time.monotonic()
            print(f"  still waiting after {shown - started:.0f} s: {report.problems[:4]}")
        time.sleep(1.0)


def under_load(
    rig_service: Service,
    client: redis.Redis,
    subscribers: Subscribers,
    inject: Callable[[Load], str],
    *,
    rate: float = 12.0,
    warmup: int = 25,
    after: int = 25,
    settle_timeout: float = 90.0,
) -> tuple[Load, Report]:
    """Post copy at ``rate``; once ``warmup`` items are accepted, ``inject`` the fault (it says
    what it did); keep posting until ``after`` more are accepted; then wait for the invariants.
    Prints what was injected and what was counted."""
    started = time.monotonic()
    load = Load(rig_service, rate=rate).start()
    try:
        wait_for(lambda: load.count() >= warmup, timeout=60, message=f"{warmup} items accepted")
        injected = inject(load)
        print(f"\ninjected: {injected} ({time.monotonic() - started:.1f} s into the load)")
        mark = load.count()
        wait_for(
            lambda: load.count() >= mark + after,
            timeout=60,
            message=f"{after} more items accepted after the fault",
        )
    finally:
        accepted = load.stop()
    with load._lock:
        refused = dict(load.refused)
    stopped = time.monotonic()
    report = settle(rig_service, client, accepted, subscribers, timeout=settle_timeout)
    print(
        f"counted: {report}; refused while posting: {refused or 'none'}; load ran "
        f"{stopped - started:.1f} s, settled {time.monotonic() - stopped:.1f} s later"
    )
    if report.problems:
        print(rig_service.logs(tail=40))
        for i in range(len(subscribers.ids)):
            print(f"subscriber {i} deliveries (state/attempts): {subscribers.states(i)}")
    return load, report
