"""The report's plots: matplotlib figures (no pyplot state), PNGs inlined as base64. The PNG
metadata carries no software stamp or time, so the same data give the same bytes."""

from __future__ import annotations

import base64
import io
from datetime import date
from typing import Any

import pandas as pd


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode()


def _figure(width: float = 6.4, height: float = 2.6):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.add_subplot(1, 1, 1)


def plots(
    run_date: date, report: dict[str, Any], dec: pd.DataFrame | None, trend: pd.DataFrame | None
) -> dict[str, str]:
    """Base64 PNGs by title; a plot whose data do not exist is left out."""
    out: dict[str, str] = {}
    if dec is not None and len(dec):
        fig, ax = _figure()
        groups = [
            ("sent", dec[dec["chosen"]]),
            ("eligible, not chosen", dec[(dec["status"] == "eligible") & ~dec["chosen"]]),
            ("control / inactive", dec[dec["status"] != "eligible"]),
        ]
        hi = max(float(dec["score"].max()), 1e-6)
        for (name, g), color in zip(groups, ("#1f6f3f", "#9aa5b1", "#d08c2c")):
            if len(g):
                ax.hist(g["score"], bins=40, range=(0, hi), alpha=0.75, label=f"{name} ({len(g)})", color=color)
        ax.set_xlabel("score: P(redeem)")
        ax.set_ylabel("candidates")
        ax.set_yscale("log")
        ax.legend(fontsize=8)
        fig.tight_layout()
        out["Score distribution"] = _png(fig)
    camp = report.get("campaign")
    if camp and camp["campaigns"]:
        fig, ax = _figure(height=1.6)
        left = 0.0
        for i, c in enumerate(camp["campaigns"]):
            ax.barh(
                [0],
                [c["expected_cost"]],
                left=left,
                label=f"campaign {c['campaign_id']}",
                color=["#1f6f3f", "#3d8fb8", "#8a5fb0", "#c0604a"][i % 4],
            )
            left += c["expected_cost"]
        ax.barh([0], [max(camp["budget"] - left, 0)], left=left, color="#e6e6e6", label="unused")
        ax.axvline(camp["budget"], color="#b00020", linestyle="--", linewidth=1)
        ax.set_yticks([])
        ax.set_xlabel(f"expected cost of the sends vs the budget ({camp['budget']:.2f})", fontsize=9)
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
        fig.tight_layout()
        out["Budget use"] = _png(fig)
    if trend is not None and len(trend):
        fig, ax = _figure()
        ax.plot(pd.to_datetime(trend["week"]), trend["redemptions"], color="#3d8fb8", marker=".", linewidth=1)
        ax.set_ylabel("redemptions / week")
        ax.set_title(f"coupon redemptions before {run_date.isoformat()}", fontsize=9)
        fig.autofmt_xdate()
        fig.tight_layout()
        out["Redemption trend"] = _png(fig)
    return out
