"""The report's behavioural-segment section (pure: frames in, a dict out).

Beside the demographic breakdown of the day's campaign, the same campaign by behavioural
segment (``models.segments``, attached by ``couponflow.app.segments``): reach, expected
redemptions and expected cost. Then each of our campaigns that started before the run date, by
the segments its households had on its start date:

* **closed** (its window ended before the run date, so the lake holds all of it and a rebuilt
  report is the same): realised redemptions of the households we picked, the segment's real
  redeemers among the candidates and our capture of them, and, only where the source's
  redemptions answer our sends, the actual cost (discounts taken plus contact costs);
* **open** (the window has not fully landed): censored, DESIGN's label rule; the share of the
  window observed is shown and nothing realised is, never a plain "did not redeem".

On recorded history (``answers_our_sends`` false) the redemptions answer the retailer's sends,
not ours: the section says so, shows the capture of real redeemers and marks our actual cost
"n/a", as the closed-campaigns section does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

UNSEGMENTED = "not segmented"
HISTORY_NOTE = (
    "The source is recorded history: redemptions answer the retailer's sends, not ours, so the "
    "redeemers we picked measure capture, and our actual cost is n/a."
)
NO_FIT_NOTE = "No fit in force yet: segments start at the first as-of date with 26 weeks of history."
CENSORED_NOTE = "window not fully landed: censored, nothing realised is shown (DESIGN's label rule)"


@dataclass(frozen=True)
class CampaignSegments:
    """One of our campaigns: its decision-log rows with each household's segment of its start
    date, and (``closed``) the outcome columns ``redeemed`` and ``redemption_discount``."""

    campaign_id: int
    decided_on: date
    window_end: date
    duration_days: int
    log: pd.DataFrame
    contact_cost: float
    closed: bool


@dataclass(frozen=True)
class SegmentInputs:
    run_date: date
    today: pd.DataFrame | None  # the day's decision log with a ``segment`` column (None: none)
    fit: dict[str, Any] | None  # the fit in force: cut, k, names, sizes (None: before the first cut)
    campaigns: list[CampaignSegments]
    answers_our_sends: bool


def _segment(df: pd.DataFrame) -> pd.Series:
    return df["segment"].astype("string").fillna(UNSEGMENTED)


def today_rows(today: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Reach, expected redemptions and expected cost of the day's campaign per segment."""
    if today is None or today.empty:
        return []
    rows = []
    for name, g in today.groupby(_segment(today), sort=True):
        sent = g["chosen"].astype(bool)
        candidates = int(g["household_id"].nunique())
        sends = int(sent.sum())
        rows.append(
            {
                "segment": str(name),
                "candidate_households": candidates,
                "sends": sends,
                "reach": sends / candidates if candidates else None,
                "expected_redemptions": round(float(g.loc[sent, "score"].sum()), 6),
                "expected_cost": round(float(g.loc[sent, "expected_cost"].sum()), 6),
            }
        )
    return rows


def observed_share(c: CampaignSegments, run_date: date) -> float:
    """Share of the window landed before ``run_date`` (the report of D sees days before D)."""
    if c.closed:
        return 1.0
    return min(1.0, max(0.0, (run_date - c.decided_on).days / c.duration_days)) if c.duration_days else 0.0


def campaign_rows(c: CampaignSegments, run_date: date, answers_our_sends: bool) -> list[dict[str, Any]]:
    """One row per segment of one of our campaigns (see the module's docstring)."""
    log = c.log
    missing = [col for col in ("redeemed", "redemption_discount") if c.closed and col not in log]
    if missing:
        raise ValueError(f"campaign {c.campaign_id} is closed but its log lacks {missing}")
    if c.closed and log["redeemed"].isna().any():
        raise ValueError(
            f"{int(log['redeemed'].isna().sum())} rows of the decision log of {c.decided_on} (campaign "
            f"{c.campaign_id}) have no outcome: rebuild the warehouse (couponflow daily --force)"
        )
    share = observed_share(c, run_date)
    rows = []
    for name, g in log.groupby(_segment(log), sort=True):
        sent = g["chosen"].astype(bool)
        sends = int(sent.sum())
        row: dict[str, Any] = {
            "campaign_id": c.campaign_id,
            "decided_on": c.decided_on.isoformat(),
            "window_end": c.window_end.isoformat(),
            "status": "closed" if c.closed else "open",
            "observed_share": share,
            "segment": str(name),
            "candidate_households": int(g["household_id"].nunique()),
            "sends": sends,
            "expected_redemptions": round(float(g.loc[sent, "score"].sum()), 6),
            "expected_cost": round(float(g.loc[sent, "expected_cost"].sum()), 6),
            "redeemed": None,
            "redemption_rate": None,
            "redeemers_among_candidates": None,
            "capture": None,
            "actual_cost": None,
        }
        if c.closed:
            redeemed = g["redeemed"].astype(float)
            picked = int(redeemed[sent].sum())
            everyone = int(redeemed.sum())
            row.update(
                redeemed=picked,
                redemption_rate=picked / sends if sends else None,
                redeemers_among_candidates=everyone,
                capture=picked / everyone if everyone else None,
            )
            if answers_our_sends:
                discount = float(g.loc[sent, "redemption_discount"].astype(float).sum())
                row["actual_cost"] = round(discount + c.contact_cost * sends, 6)
        rows.append(row)
    return rows


def segments_content(inputs: SegmentInputs | None) -> dict[str, Any] | None:
    """The section's content; None when there is nothing to segment (no warehouse yet)."""
    if inputs is None:
        return None
    note = "" if inputs.answers_our_sends else HISTORY_NOTE
    if inputs.fit is None:
        note = (note + " " if note else "") + NO_FIT_NOTE
    return {
        "fit": inputs.fit,
        "today": today_rows(inputs.today),
        "campaigns": [r for c in inputs.campaigns for r in campaign_rows(c, inputs.run_date, inputs.answers_our_sends)],
        "answers_our_sends": inputs.answers_our_sends,
        "note": note,
        "censored_note": CENSORED_NOTE,
    }
