"""The load bench's picture: latency over time and throughput per step, one column a scenario.

Top: p50 and p99 POST-to-webhook latency per second (log scale, the 1 s limit drawn). Bottom:
stories accepted per second and webhook deliveries per second, with the offered rate. Each step
is shaded green when it held and red when it did not, and labelled with its offered rate, so
saturation shows at a glance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

TAIL = 8.0  # seconds of each step's drain shown after it (a backlog draining shows saturation)


def _why(figures: dict[str, Any]) -> str:
    if figures["held"]:
        return "held"
    reasons = []
    if figures["post_to_webhook"]["p99_ms"] >= 1000:
        reasons.append("p99")
    if figures["webhook_losses"] or figures["feed_losses"]:
        reasons.append("feed loss" if figures["feed_losses"] else "loss")
    if figures["refused_by_status"]:
        reasons.append("refused")
    return "+".join(reasons) or "rate"


def _column(axes: Any, scenario: dict[str, Any], title: str) -> None:
    """Steps side by side (the waits between them left out), each with its drain tail."""
    top, bottom = axes
    offset = 0.0
    for timeline, figures in zip(scenario["timeline"], scenario["steps"], strict=True):
        span = figures["posted"] / max(1.0, figures["offered_stories_per_s"])
        colour = "#d8f0d8" if figures["held"] else "#f6d5d5"
        for ax in (top, bottom):
            ax.axvspan(offset, offset + span, color=colour, zorder=0)
        top.text(
            offset + span / 2, 1.02, f"{figures['offered_stories_per_s']:.0f}/s\n{_why(figures)}",
            transform=top.get_xaxis_transform(), ha="center", va="bottom", fontsize=8,
        )  # fmt: skip
        bottom.hlines(
            figures["offered_stories_per_s"], offset, offset + span, colors="grey",
            linestyles="dashed",
        )  # fmt: skip

        def xs_of(keys: Any, start: float = timeline["start"], at: float = offset) -> list[float]:
            return [int(k) - start + at for k in keys]

        def shown(
            series: dict[str, Any], start: float = timeline["start"], span: float = span
        ) -> list[str]:
            return sorted((k for k in series if int(k) - start < span + TAIL), key=int)

        lat = timeline["webhook_latency"]
        keys = shown(lat)
        top.plot(xs_of(keys), [lat[k][0] * 1000 for k in keys], color="tab:blue", lw=1)
        top.plot(xs_of(keys), [lat[k][1] * 1000 for k in keys], color="tab:red", lw=1)
        for name, colour in (
            ("accepted_per_second", "tab:green"),
            ("delivered_per_second", "tab:purple"),
        ):
            series = timeline[name]
            keys = shown(series)
            bottom.plot(xs_of(keys), [series[k] for k in keys], color=colour, lw=1)
        offset += span + TAIL
    top.plot([], [], color="tab:blue", label="p50")
    top.plot([], [], color="tab:red", label="p99")
    top.axhline(1000, color="black", lw=0.8, ls=":", label="1 s limit")
    top.set_yscale("log")
    top.set_ylabel("POST → webhook (ms)")
    top.set_title(title, pad=28)
    top.legend(loc="upper left", fontsize=8)
    bottom.plot([], [], color="grey", ls="dashed", label="offered stories/s")
    bottom.plot([], [], color="tab:green", label="accepted stories/s")
    bottom.plot([], [], color="tab:purple", label="webhook deliveries/s")
    bottom.set_ylabel("per second")
    bottom.set_xlabel(
        f"seconds of load, steps in the order run (green: held; red: not, and why), {TAIL:.0f} s "
        "of drain after each"
    )
    bottom.legend(loc="upper left", fontsize=8)


def plot(figures: dict[str, Any], path: Path) -> None:
    fig, axes = plt.subplots(2, 2, figsize=(15, 8.5), sharex="col")
    one, ten = figures["one_subscriber"], figures["ten_subscribers"]
    _column(
        axes[:, 0],
        one,
        f"1 webhook subscriber: held {one['best_held_stories_per_s']:.0f} stories/s",
    )
    _column(
        axes[:, 1],
        ten,
        f"10 webhook subscribers: held {ten['best_held_stories_per_s']:.0f} stories/s "
        f"({ten['best_held_webhook_deliveries_per_s']:.0f} deliveries/s)",
    )
    fig.suptitle(
        "syndicate up on 2 cores: latency over time and throughput per step "
        f"(ceiling {figures['ceiling']['stories_per_s_one_core']:.0f} stories/s on one core)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
