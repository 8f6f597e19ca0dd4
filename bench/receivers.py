"""Webhook receivers and WebSub subscribers on loopback, all in one lean asyncio process.

A separate process so that receiving never competes with the load generator for a GIL. Each
listener speaks just enough HTTP/1.1 (keep-alive, ``Content-Length`` bodies): webhook receivers
record ``(receiver, webhook-id, wire id, story id, time)`` for each POST; WebSub callbacks echo
``hub.challenge`` to the hub's verification GET and record when each story id (the JSON Feed
item ``urn:syndicate:story:…``) is first seen in a pushed feed. Times are ``time.time()``, the
clock the load generator stamps its posts with.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import re
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from urllib.parse import parse_qs, urlsplit

_WIRE_ID = re.compile(rb'"wire_id":\s*"([^"]+)"')
_STORY_ID = re.compile(rb'"id":\s*"(st_[^"]+)"')
_FEED_STORY = re.compile(rb"urn:syndicate:story:(st_[A-Za-z0-9_-]+)")

#: one webhook receipt: receiver index, webhook-id, wire id, story id, time received
Receipt = tuple[int, str, str, str, float]
#: one story first seen by a WebSub subscriber: subscriber index, story id, time
Sighting = tuple[int, str, float]


@dataclass
class _State:
    receipts: list[Receipt] = field(default_factory=list)
    sightings: list[Sighting] = field(default_factory=list)
    seen: list[set[str]] = field(default_factory=list)
    pushes: int = 0
    verifications: int = 0


def _answer(status: str, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\nContent-Type: text/plain\r\n\r\n"
    return head.encode() + body


async def _handle(
    state: _State, kind: str, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name:
                    headers[name.strip().lower()] = value.strip()
            size = int(headers.get("content-length", "0") or 0)
            body = await reader.readexactly(size) if size else b""
            now = time.time()
            if method == "GET":  # WebSub verification of intent: echo the challenge
                query = parse_qs(urlsplit(target).query)
                state.verifications += 1
                writer.write(_answer("200 OK", query.get("hub.challenge", [""])[0].encode()))
            elif kind == "webhook":
                wire = _WIRE_ID.search(body)
                story = _STORY_ID.search(body)
                state.receipts.append(
                    (
                        index,
                        headers.get("webhook-id", ""),
                        wire.group(1).decode() if wire else "",
                        story.group(1).decode() if story else "",
                        now,
                    )
                )
                writer.write(_answer("200 OK", b"ok"))
            else:
                state.pushes += 1
                seen = state.seen[index]
                for match in _FEED_STORY.finditer(body):
                    story_id = match.group(1).decode()
                    if story_id not in seen:
                        seen.add(story_id)
                        state.sightings.append((index, story_id, now))
                writer.write(_answer("200 OK", b"thanks"))
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                break
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


def _serve(control: Connection, webhooks: int, websubs: int) -> None:
    async def main() -> None:
        state = _State(seen=[set() for _ in range(websubs)])
        ports: dict[str, list[int]] = {"webhook": [], "websub": []}
        for kind, count in (("webhook", webhooks), ("websub", websubs)):
            for index in range(count):

                async def on_client(
                    r: asyncio.StreamReader,
                    w: asyncio.StreamWriter,
                    kind: str = kind,
                    index: int = index,
                ) -> None:
                    await _handle(state, kind, index, r, w)

                server = await asyncio.start_server(on_client, "127.0.0.1", 0, backlog=512)
                ports[kind].append(server.sockets[0].getsockname()[1])
        control.send(ports)
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def on_command() -> None:
            command, since = control.recv()
            if command == "stop":
                done.set_result(None)
                return
            control.send(
                (
                    state.receipts[since[0] :],
                    state.sightings[since[1] :],
                    state.pushes,
                    state.verifications,
                )
            )

        loop.add_reader(control.fileno(), on_command)
        await done

    asyncio.run(main())


class Receivers:
    """The receivers' process, seen from the bench: URLs, and what arrived so far."""

    def __init__(self, webhooks: int, websubs: int) -> None:
        self.webhooks, self.websubs = webhooks, websubs
        self.receipts: list[Receipt] = []
        self.sightings: list[Sighting] = []
        self.pushes = self.verifications = 0
        self.process: mp.process.BaseProcess | None = None

    def start(self) -> Receivers:
        ctx = mp.get_context("spawn")
        ours, theirs = ctx.Pipe()
        self.process = ctx.Process(
            target=_serve, args=(theirs, self.webhooks, self.websubs), daemon=True
        )
        self.process.start()
        self.control = ours
        ports = ours.recv()
        self.webhook_urls = [f"http://127.0.0.1:{p}/hook" for p in ports["webhook"]]
        self.websub_urls = [f"http://127.0.0.1:{p}/websub" for p in ports["websub"]]
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        assert self.process.pid is not None
        return self.process.pid

    def refresh(self) -> None:
        """Fetch what arrived since the last call (appended to ``receipts``/``sightings``)."""
        self.control.send(("dump", (len(self.receipts), len(self.sightings))))
        receipts, sightings, self.pushes, self.verifications = self.control.recv()
        self.receipts.extend(receipts)
        self.sightings.extend(sightings)

    def stop(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.control.send(("stop", (0, 0)))
            self.process.join(5)
            if self.process.is_alive():
                self.process.kill()
