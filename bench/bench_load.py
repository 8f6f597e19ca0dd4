"""Load: the whole service under a fixed rate of generated wire copy, and the rate it holds.

``syndicate up`` (embedded Redis with AOF, the API, one worker per queue, the scheduler) in a
temporary folder; 10 webhook receivers and 2 WebSub subscribers (each subscribed to every
agency feed's JSON, so every story reaches them in exactly one feed) in one lean process; an
open-loop generator posting five formats of generated copy (``bench/wirecopy.py``).

Two scenarios, each a short step search over rates (``bench/loadstats.next_rate``): one webhook
subscriber, then ten. A step *holds* when every post is accepted at the offered rate, nothing is
lost (every accepted story reaches every webhook subscriber and both WebSub subscribers), and
p99 POST-to-webhook stays under 1 s. Then the ceiling: the same pure steps in one process.

Environment: ``BENCH_LOAD_STEP_SECONDS`` (default 12), ``BENCH_LOAD_BUDGET_SECONDS`` (default
600, both scenarios together), ``BENCH_LOAD_START_ONE`` / ``BENCH_LOAD_START_TEN`` (first
rates, stories/s), ``BENCH_LOAD_ENV`` (``KEY=VALUE,...`` for the service; default ``TUNED``,
``none`` for the plain defaults).
Writes ``bench/results/load.png`` beside the JSON that ``make bench`` writes.
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.loadplot import plot
from bench.loadrun import LoadRun
from bench.loadstats import next_rate
from bench.wirecopy import Copy, WireCopy
from services.ingest.decide import decide
from services.ingest.formats import ParseContext, parse
from services.publish.deliveries import payload
from services.publish.signing import new_secret, webhook_headers
from services.render.documents import render_document
from services.render.feeds import FeedSpec

RESULTS = Path(__file__).parent / "results"
#: the settings the figures are taken with (docs/performance.md says why); BENCH_LOAD_ENV=none
#: runs the defaults
TUNED = "SYNDICATE_PUBLISH_WORKERS=2"


def _env(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def ceiling(count: int = 1000, render_every: int = 25) -> dict[str, float]:
    """Stories per second through the pure steps in one process (one core): parse, decide,
    build and sign one webhook body, and re-render a 50-entry feed (RSS, Atom, JSON) once per
    ``render_every`` stories (what coalescing does for the ``all`` feed at ~100 stories/s)."""
    gen = WireCopy(run_tag="ceiling")
    now = datetime.now(UTC)
    copies = [gen.copy(i, now) for i in range(count)]
    spec = FeedSpec(name="all", title="All", description="All", base_url="http://bench")
    secret = new_secret()
    best = min(_ceiling_pass(copies, spec, secret, render_every, now) for _ in range(3))
    return {
        "stories_per_s_one_core": round(count / best, 1),
        "render_every_n_stories": render_every,
    }


def _ceiling_pass(
    copies: list[Copy], spec: FeedSpec, secret: str, render_every: int, now: datetime
) -> float:
    """Seconds for one pass (the best of a few is taken: the machine is shared)."""
    stories = []
    started = time.perf_counter()
    for i, item in enumerate(copies):
        ctx = ParseContext(received=now, content_type=item.content_type)
        draft = parse(item.body, ctx)[0]
        decision = decide(None, draft, now=now)
        assert decision.story is not None
        assert decision.event is not None
        stories.append(decision.story)
        body = payload(decision.event, decision.story.to_json_dict())
        webhook_headers([secret], decision.event.id, 1_700_000_000, body)
        if i % render_every == render_every - 1:
            render_document(spec, stories[-50:])
    return time.perf_counter() - started


def search(run: LoadRun, subscribers: int, start: float, step: float, budget: float) -> dict:
    """Step search for one scenario; returns every step's figures and the best held rate."""
    run.subscribe_webhooks(subscribers)
    history: list[tuple[float, bool]] = []
    steps, timelines = [], []
    deadline = time.monotonic() + budget
    while (rate := next_rate(history, start=start)) is not None:
        if steps and time.monotonic() + step + 20 > deadline:
            break
        result = run.step(rate, step)
        print(
            f"  [{subscribers} sub] {rate:>6.0f}/s held={result.held} "
            f"p99 hook={result.figures['post_to_webhook']['p99_ms']} ms "
            f"accepted/s={result.figures['accepted_per_s']} "
            f"{'; '.join(result.figures['why_not'])}",
            flush=True,
        )
        history.append((rate, result.held))
        steps.append(result.figures)
        timelines.append(result.timeline)
        if not run.drain(timeout=90):
            print("  queues did not drain in 90 s; stopping this scenario", flush=True)
            break
        if not run.quiet(timeout=120):
            print("  the service was still busy 120 s after the step", flush=True)
    held = [s for s in steps if s["held"]]
    best = max(held, key=lambda s: s["offered_stories_per_s"]) if held else None
    hooks_only = [
        s
        for s in steps
        if s["post_to_webhook"]["p99_ms"] < 1000
        and not s["webhook_losses"]
        and not s["refused_by_status"]
    ]
    return {
        "webhook_subscribers": subscribers,
        "best_webhooks_only_stories_per_s": max(
            (s["offered_stories_per_s"] for s in hooks_only), default=0
        ),
        "best_held_stories_per_s": best["offered_stories_per_s"] if best else 0,
        "best_held_webhook_deliveries_per_s": best["webhook_deliveries_per_s"] if best else 0,
        "best_step": best,
        "steps": steps,
        "timeline": timelines,
    }


def run() -> dict[str, Any]:
    step = _env("BENCH_LOAD_STEP_SECONDS", 12)
    budget = _env("BENCH_LOAD_BUDGET_SECONDS", 600)
    extra = dict(
        pair.split("=", 1)
        for pair in os.environ.get("BENCH_LOAD_ENV", TUNED).split(",")
        if pair and "=" in pair
    )
    with tempfile.TemporaryDirectory(prefix="syndicate-load-") as tmp:
        run = LoadRun(Path(tmp), env_extra=extra).start()
        try:
            run.warm_up()
            memory_start, stories_start = run.redis_memory(), run.seq
            one = search(run, 1, _env("BENCH_LOAD_START_ONE", 60), step, budget / 2)
            memory_one, stories_one = run.redis_memory(), run.seq
            ten = search(run, 10, _env("BENCH_LOAD_START_TEN", 30), step, budget / 2)
            memory_ten, stories_ten = run.redis_memory(), run.seq
        finally:
            run.stop()
    top = ceiling()
    best_one = one["best_held_stories_per_s"]
    figures: dict[str, Any] = {
        "target: stories/s held with one subscriber": 200,
        "held: stories/s with one subscriber (p99 POST-to-webhook < 1 s, no loss)": best_one,
        "target: webhook deliveries/s held across ten subscribers": 1000,
        "held: webhook deliveries/s across ten subscribers": ten[
            "best_held_webhook_deliveries_per_s"
        ],
        "held: stories/s with ten subscribers": ten["best_held_stories_per_s"],
        "webhooks alone (WebSub losses ignored): stories/s, one subscriber": one[
            "best_webhooks_only_stories_per_s"
        ],
        "webhooks alone (WebSub losses ignored): stories/s, ten subscribers": ten[
            "best_webhooks_only_stories_per_s"
        ],
        "ceiling: pure pipeline stories/s (one process, one core)": top["stories_per_s_one_core"],
        "ratio held (one subscriber) / ceiling": round(best_one / top["stories_per_s_one_core"], 3),
        "redis bytes per stored story (one subscriber)": round(
            (memory_one - memory_start) / max(1, stories_one - stories_start)
        ),
        "redis bytes per stored story (ten subscribers)": round(
            (memory_ten - memory_one) / max(1, stories_ten - stories_one)
        ),
        "step seconds": step,
        "service settings (BENCH_LOAD_ENV)": extra,
        "ceiling": top,
        "one_subscriber": one,
        "ten_subscribers": ten,
    }
    RESULTS.mkdir(exist_ok=True)
    plot(figures, RESULTS / "load.png")
    return figures
