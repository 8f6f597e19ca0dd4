"""Ingest's pure pipeline per format: parse and normalise (plus decide), stories per second on one
core; and the attribution parser's lines per second. No Redis, no Celery.

Samples are our own (tests/data); the credit lines are the corpus's when ../shared is here,
else our own. The goal for plain text is 2,000 stories per second per core.

Each sample is varied (names, one word numbered) so caches see a stream of stories, not one.
"text (every paragraph unique)" goes further: every paragraph of every story differs, as in a
real stream, so no per-line cache helps; it is the honest figure for the text goal.
"""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime
from pathlib import Path

from services.ingest.attribution import parse_credit_line
from services.ingest.decide import decide
from services.ingest.formats import ParseContext, parse

DATA = Path(__file__).parents[1] / "tests" / "data"
CREDITS = Path(__file__).parents[2] / "shared" / "corpus" / "credits" / "credits-real.jsonl"
NOW = datetime(2026, 3, 4, tzinfo=UTC)
SAMPLES = {
    "text": ("republished.txt", "text/plain"),
    "html": ("formats/article.html", "text/html"),
    "nitf": ("formats/nitf.xml", "application/nitf+xml"),
    "newsml-g2": ("formats/newsml_g2_message.xml", "application/vnd.iptc.g2.newsmessage+xml"),
    "newsml-1.2": ("formats/newsml12.xml", "application/vnd.iptc.newsml+xml"),
    "ninjs": ("formats/ninjs1.json", "application/ninjs+json"),
    "iptc7901": ("formats/iptc7901.txt", "text/x-iptc7901"),
    "anpa1312": ("formats/anpa1312.tst", "text/x-anpa1312"),
    "rss": ("formats/feed_rss.xml", "application/rss+xml"),
    "atom": ("formats/feed_atom.xml", "application/atom+xml"),
    "jsonfeed": ("formats/jsonfeed.json", "application/feed+json"),
}
#: the word numbered in each variant (``return`` where the sample has it)
VARIED = {"jsonfeed": b"celebrated", "rss": b"ripened", "nitf": b"dawn", "iptc7901": b"storm"}
_WORDS = ["market", "rose", "fell", "said", "officials", "Monday", "after", "storm", "harbour"]
OWN_CREDITS = [
    "(Reporting by Ana Lima in Kyiv and Bo Chen; Editing by Cy Dore)",
    "Associated Press writers Ana Lima in Lima, Peru, and Bo Chen contributed to this report.",
    "--With assistance from Ana Lima and Bo Chen.",
    "- Reporting by: Ana Lima, The Harbour Times",
    "Ana Lima/Pool via REUTERS",
    "jah/ec/rl",
]


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds else float("inf")


#: a desk's staff: credit lines repeat across stories, but not as one line forever
STAFF = [f"{first} {last}" for first in ("Ana", "Bo", "Cy", "Dee", "Eve", "Fay", "Gus") for last in ("Lima", "Chen", "Dore", "Dunn", "Ek", "Fu", "Gil")]  # fmt: skip


def _variants(data: bytes, count: int, word: bytes = b"return") -> list[bytes]:
    """The sample with its headline and the names in it varied, as a stream of stories would."""
    names = [name.encode() for name in STAFF]
    out = []
    for i in range(count):
        copy = data
        for word in (b"Tom O'Neill", b"Morag Dunnet", b"Ana Lima", b"Noor Haddad", b"Jan Weber"):
            copy = copy.replace(word, names[(i * 7 + len(word)) % len(names)])
        out.append(copy.replace(word, word + f" {i}".encode(), 1))
    return out


def _unique_paragraphs(data: bytes, count: int) -> list[bytes]:
    """The text sample with a different word in every long line of every variant."""
    rng = random.Random(1)
    out = []
    for i in range(count):
        lines = []
        for line in data.decode("utf-8").split("\n"):
            if len(line.split()) > 8 and not line.startswith("("):
                line = line.replace(" the ", f" the {rng.choice(_WORDS)}{i} ", 1)
            lines.append(line)
        out.append("\n".join(lines).replace("return", f"return {i}", 1).encode("utf-8"))
    return out


def _stories_per_second(
    name: str, content_type: str, seconds: float = 1.5, variants: list[bytes] | None = None
) -> float:
    """Stories per second of CPU time of this process (one core, whatever else the machine runs)."""
    if variants is None:
        fmt = next(f for f, (n, _) in SAMPLES.items() if n == name)
        variants = _variants((DATA / name).read_bytes(), 500, VARIED.get(fmt, b"return"))
    ctx = ParseContext(received=NOW, content_type=content_type)
    parse(variants[0], ctx)  # warm up (imports, regex compilation)
    stories = 0
    started = time.process_time()
    while time.process_time() - started < seconds:
        for data in variants:
            for draft in parse(data, ctx):
                assert decide(None, draft, now=NOW).story is not None
                stories += 1
            if time.process_time() - started >= seconds:
                break
    return _rate(stories, time.process_time() - started)


def run() -> dict[str, object]:
    figures: dict[str, object] = {
        f"{fmt} stories parsed+normalised+decided per second (1 core)": _stories_per_second(*sample)
        for fmt, sample in SAMPLES.items()
    }
    unique = _unique_paragraphs((DATA / SAMPLES["text"][0]).read_bytes(), 3000)
    figures[
        "text (every paragraph unique) stories parsed+normalised+decided per second (1 core)"
    ] = _stories_per_second(*SAMPLES["text"], seconds=3.0, variants=unique)
    if CREDITS.is_file():
        lines = [json.loads(raw)["text"] for raw in CREDITS.read_text("utf-8").splitlines() if raw]
    else:
        lines = OWN_CREDITS
    # every line once, uncached: the reader's own speed
    read = parse_credit_line.__wrapped__
    rounds = max(1, 5000 // len(lines))
    started = time.process_time()
    for _ in range(rounds):
        for line in lines:
            read(line)
    figures["attribution lines parsed per second (1 core, uncached)"] = _rate(
        rounds * len(lines), time.process_time() - started
    )
    return figures
