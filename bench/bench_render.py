"""Feeds: render cost per format against plain feedgen, coalescing under a burst, serving rate.

- Render time of a 50-entry feed per format (entry mapping + sanitising + extensions included),
  and the ratio to calling feedgen directly on the same stories (goal: under 1.2x).
- Renders of one section caused by a burst of 500 stories into it (private redis-server, the real
  event task and the real pump in this process).
- Requests per second for GET 200 and conditional GET 304 on loopback with 50 concurrent
  keep-alive clients against `syndicate api`; against nginx serving the same bytes from disk when
  nginx is installed (nothing is installed by the bench).
"""

from __future__ import annotations

import asyncio
import http.client
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from feedgen.feed import FeedGenerator

from services.render.documents import render_document
from services.render.entries import entry_of
from services.render.feeds import FeedSpec, render_atom, render_rss
from services.render.jsonfeed import render_json
from shared.models import Story
from tests.support.stories import rich_story

SPEC = FeedSpec(name="all", title="All", description="Every story", base_url="http://bench")
CLIENTS = 50
SECONDS = 5.0


def _best(run: Callable[[], object], repeat: int = 30) -> float:
    """Best time of ``repeat`` runs, in milliseconds (the least disturbed by the machine)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def _plain_feedgen(stories: list[Story], fmt: str) -> bytes:
    """What calling feedgen directly on the same stories looks like (no sanitising, no
    extensions, none of the traps handled)."""
    fg = FeedGenerator()
    fg.id(SPEC.url("atom"))
    fg.title(SPEC.title)
    fg.description(SPEC.description)
    fg.link(href=SPEC.url(fmt), rel="self")
    fg.link(href=SPEC.site_url, rel="alternate")
    fg.language("en")
    fg.updated(max(s.updated for s in stories))
    for story in stories:
        fe = fg.add_entry(order="append")
        fe.id(f"urn:syndicate:story:{story.id}")
        fe.title(story.headline)
        fe.link(href=f"{SPEC.base_url}/v1/stories/{story.id}")
        fe.description(story.summary or "")
        fe.content("\n".join(f"<p>{b.text}</p>" for b in story.body), type="html")
        fe.published(story.first_published)
        fe.updated(story.updated)
        for person in story.contributors:
            fe.author(name=person.name)
        for category in (story.section, story.agency):
            fe.category(term=category or "")
    return bytes(fg.rss_str() if fmt == "rss" else fg.atom_str())


def _clear_caches() -> None:
    from services.render import documents, feeds, jsonfeed

    feeds._entry_element.cache_clear()
    jsonfeed._item_json.cache_clear()
    documents._ENTRIES = documents._EntryCache(documents.ENTRY_CACHE_SIZE)


def render_figures() -> dict[str, object]:
    """Per format: cold (every cache empty: sanitise, map, build every entry) and steady state
    (the entries already built once, as when a story sits in a feed through many renders or is
    in several feeds), each against plain feedgen on the same stories."""
    from services.render.documents import _ENTRIES

    stories = [rich_story(n) for n in range(50, 0, -1)]
    renderers = {"rss": render_rss, "atom": render_atom, "json": render_json}
    figures: dict[str, object] = {}
    for fmt, render in renderers.items():

        def cold(r: Callable[..., bytes] = render) -> bytes:
            _clear_caches()
            return r(SPEC, [entry_of(s, SPEC.base_url) for s in stories])

        def warm(r: Callable[..., bytes] = render) -> bytes:
            from services.render import documents

            return r(SPEC, [documents._ENTRIES.get(s, SPEC.base_url) for s in stories])

        cold_ms = _best(cold)
        warm(), _ENTRIES  # fill the caches
        warm_ms = _best(warm)
        figures[f"{fmt}: 50-entry render, cold caches, ms"] = round(cold_ms, 2)
        figures[f"{fmt}: 50-entry render, steady state, ms"] = round(warm_ms, 2)
        if fmt != "json":
            plain = _best(lambda f=fmt: _plain_feedgen(stories, f))  # type: ignore[misc]
            figures[f"{fmt}: plain feedgen, ms"] = round(plain, 2)
            figures[f"{fmt}: ratio to plain feedgen, steady state (goal < 1.2)"] = round(
                warm_ms / plain, 2
            )
            figures[f"{fmt}: ratio to plain feedgen, cold"] = round(cold_ms / plain, 2)
    figures["all three formats of one document (steady state), ms"] = round(
        _best(lambda: render_document(SPEC, stories), repeat=10), 2
    )
    return figures


def _start_redis(folder: Path) -> Any:
    from shared.redis_server import RedisServer

    return RedisServer(data_dir=folder / "redis").start()


def burst_figures(redis_url: str) -> dict[str, object]:
    os.environ["SYNDICATE_REDIS_URL"] = redis_url
    from shared.redis_conn import get_redis
    from shared.settings import get_settings

    get_settings.cache_clear()
    from services.render.dirty import DirtySet
    from services.render.pump import Pump
    from services.render.tasks import render_feed_document
    from tests.support.render import counter, publish

    client = get_redis()
    pump = Pump(get_redis, render_feed_document, poll=0.01).start()
    started = time.perf_counter()
    for n in range(1, 501):
        publish(client, rich_story(n, section="Burst", contributors=[]))
    burst = time.perf_counter() - started
    deadline = time.monotonic() + 60
    while DirtySet(client).pending() and time.monotonic() < deadline:
        time.sleep(0.05)
    pump.stop()
    renders = counter(client, "syndicate_feed_renders_total", ["sections/burst", "rss"])
    return {
        "burst: stories into one section": 500,
        "burst: seconds to send the events": round(burst, 2),
        "burst: renders of that section (window 0.25 s)": int(renders),
    }


async def _client(host: str, port: int, request: bytes, until: float, counts: list[int]) -> None:
    """One keep-alive client: requests back to back; a connection the server closes (nginx
    ends one after ``keepalive_requests``) is opened again, as a real client would."""
    while time.monotonic() < until:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.monotonic() < until:
                writer.write(request)
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length and status != 304:
                    await reader.readexactly(length)
                counts[0 if status == 200 else 1 if status == 304 else 2] += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            counts[3] += 1
        finally:
            writer.close()


def _rate(host: str, port: int, path: str, extra: str = "") -> dict[str, float]:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept-Encoding: gzip\r\n{extra}\r\n"
    ).encode()
    counts = [0, 0, 0, 0]  # 200, 304, other, connections the server closed

    async def main() -> None:
        until = time.monotonic() + SECONDS
        await asyncio.gather(*(_client(host, port, request, until, counts) for _ in range(CLIENTS)))

    asyncio.run(main())
    return {
        "200": counts[0] / SECONDS,
        "304": counts[1] / SECONDS,
        "other": counts[2],
        "closed": counts[3],
    }


def _wait_http(port: int, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def serving_figures(redis_url: str, folder: Path) -> dict[str, object]:
    from shared import feedstore
    from shared.redis_conn import get_redis
    from shared.redis_server import free_port

    client = get_redis()
    stored = feedstore.load_encoded(client, "sections/burst", "atom", "gzip")
    assert stored is not None, "the burst did not render"
    etag = stored[1].etag
    port = free_port()
    env = {**os.environ, "SYNDICATE_REDIS_URL": redis_url, "SYNDICATE_PORT": str(port)}
    env["SYNDICATE_LOG_LEVEL"] = "WARNING"
    api = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "api"], env=env, start_new_session=True
    )
    figures: dict[str, object] = {}
    try:
        _wait_http(port)
        path = "/feeds/sections/burst.atom"
        ok = _rate("127.0.0.1", port, path)
        cond = _rate("127.0.0.1", port, path, f"If-None-Match: {etag}\r\n")
        figures["syndicate: GET 200 per second (50 clients, gzip)"] = round(ok["200"])
        figures["syndicate: conditional GET 304 per second"] = round(cond["304"])
        figures["syndicate: errors"] = ok["other"] + cond["other"]
    finally:
        os.killpg(api.pid, signal.SIGTERM)
        api.wait(timeout=20)
    nginx = shutil.which("nginx")
    if nginx is None:
        figures["nginx"] = "not installed: no comparison in this run"
        return figures
    figures.update(_nginx_figures(nginx, folder, stored[0], etag))
    figures["ratio syndicate/nginx GET 200"] = round(
        float(str(figures["syndicate: GET 200 per second (50 clients, gzip)"]))
        / max(1.0, float(str(figures["nginx: GET 200 per second"]))),
        3,
    )
    return figures


def _nginx_figures(nginx: str, folder: Path, gz: bytes, etag: str) -> dict[str, object]:
    """nginx serving the same gzip bytes from disk (gzip_static), same clients."""
    from shared.redis_server import free_port

    root = folder / "www" / "feeds" / "sections"
    root.mkdir(parents=True)
    # nginx started by root serves as an unprivileged user: it must reach the files through
    # the temporary folder, which is private to us
    folder.chmod(0o711)
    import gzip as gzip_module

    (root / "burst.atom").write_bytes(gzip_module.decompress(gz))
    (root / "burst.atom.gz").write_bytes(gz)
    port = free_port()
    conf = folder / "nginx.conf"
    conf.write_text(
        f"daemon off; worker_processes 1; pid {folder}/nginx.pid; error_log {folder}/err.log;\n"
        f"events {{ worker_connections 1024; }}\n"
        f"http {{ access_log off; gzip_static on; etag on; keepalive_requests 1000000;\n"
        f"  types {{ application/atom+xml atom; }}\n"
        f"  client_body_temp_path {folder}/tmp; proxy_temp_path {folder}/tmp;\n"
        f"  fastcgi_temp_path {folder}/tmp; uwsgi_temp_path {folder}/tmp;\n"
        f"  scgi_temp_path {folder}/tmp;\n"
        f"  server {{ listen 127.0.0.1:{port}; root {folder}/www; }} }}\n"
    )
    proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(folder)], start_new_session=True)
    try:
        _wait_http(port)
        ok = _rate("127.0.0.1", port, "/feeds/sections/burst.atom")
        # nginx's own ETag of the gzip file, for the conditional run
        asked = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        asked.request("GET", "/feeds/sections/burst.atom", headers={"Accept-Encoding": "gzip"})
        head = asked.getresponse().getheader("ETag")
        asked.close()
        cond = _rate("127.0.0.1", port, "/feeds/sections/burst.atom", f"If-None-Match: {head}\r\n")
        return {
            "nginx: GET 200 per second": round(ok["200"]),
            "nginx: conditional GET 304 per second": round(cond["304"]),
            "nginx: errors": ok["other"] + cond["other"],
        }
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def run() -> dict[str, object]:
    figures = render_figures()
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        folder = Path(tmp)
        server = _start_redis(folder)
        try:
            url = f"redis://{server.host}:{server.port}/5"
            figures.update(burst_figures(url))
            figures.update(serving_figures(url, folder))
        finally:
            server.stop()
    return figures
