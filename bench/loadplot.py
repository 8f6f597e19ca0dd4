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


def _series(counts: dict[str, int]) -> tuple[list[int], list[int]]:
    xs = sorted(int(k) for k in counts)
    return xs, [counts[str(x)] for x in xs]


def _column(axes: Any, scenario: dict[str, Any], title: str) -> None:
    top, bottom = axes
    t0 = min((t["start"] for t in scenario["timeline"]), default=0.0)
    for timeline, figures in zip(scenario["timeline"], scenario["steps"], strict=True):
        start = timeline["start"] - t0
        span = figures["posted"] / max(1.0, figures["offered_stories_per_s"])
        colour = "#d8f0d8" if figures["held"] else "#f6d5d5"
        for ax in (top, bottom):
            ax.axvspan(start, start + span, color=colour, zorder=0)
        top.text(
            start + span / 2, 1.02, f"{figures['offered_stories_per_s']:.0f}/s",
            transform=top.get_xaxis_transform(), ha="center", fontsize=8,
        )  # fmt: skip
        bottom.hlines(
            figures["offered_stories_per_s"], start, start + span, colors="grey",
            linestyles="dashed", label="offered stories/s" if start == 0 else None,
        )  # fmt: skip
        lat = timeline["webhook_latency"]
        xs = sorted(int(k) for k in lat)
        shift = [x - t0 for x in xs]
        top.plot(shift, [lat[str(x)][0] * 1000 for x in xs], color="tab:blue", lw=1)
        top.plot(shift, [lat[str(x)][1] * 1000 for x in xs], color="tab:red", lw=1)
        ax_, ay = _series(timeline["accepted_per_second"])
        bottom.plot([x - t0 for x in ax_], ay, color="tab:green", lw=1)
        dx, dy = _series(timeline["delivered_per_second"])
        bottom.plot([x - t0 for x in dx], dy, color="tab:purple", lw=1)
    top.plot([], [], color="tab:blue", label="p50")
    top.plot([], [], color="tab:red", label="p99")
    top.axhline(1000, color="black", lw=0.8, ls=":", label="1 s limit")
    top.set_yscale("log")
    top.set_ylabel("POST → webhook (ms)")
    top.set_title(title, pad=18)
    top.legend(loc="upper left", fontsize=8)
    bottom.plot([], [], color="tab:green", label="accepted stories/s")
    bottom.plot([], [], color="tab:purple", label="webhook deliveries/s")
    bottom.set_ylabel("per second")
    bottom.set_xlabel("seconds into the scenario (green: step held; red: it did not)")
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
