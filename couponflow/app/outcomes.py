"""Closed campaigns measured from the lake, for the operators' report.

For the report of run date D, a campaign is closed when its window ended before D (the lake then
holds every day of it, and later landings cannot change it, so a rebuilt report is the same).
Its decision log is the one published on its start date (``decisions/date=S/``, and under
``replay/`` for a replay on history); it is joined with ``marts.campaign_outcomes`` and measured
by ``models.closed_campaigns.measure_campaign``. The target policy of the off-policy estimates is
the current champion sending its top scorers, scored on the campaign's candidates as of its start.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from couponflow.app.publishing import published_decisions
from couponflow.platform.resources import Resources
from models.closed_campaigns import OUTCOME_COLUMNS, measure_campaign
from models.scoring import Scorer

MODES = ("live", "replay")


def closed_campaigns(
    res: Resources, run_date: date, *, answers_our_sends: bool, target: Scorer | None = None
) -> list[dict[str, Any]]:
    """One measurement per (mode, campaign) we published whose window ended before ``run_date``,
    newest first. ``answers_our_sends``: the source's redemptions answer our published sends
    (DESIGN, honest lift); when False (recorded history, the plain synthetic world) lift is n/a."""
    settings, store, query = res.settings, res.store, res.warehouse.query
    closed = query(
        """
        select distinct campaign_id, start_date, end_date from marts.campaign_outcomes
        where end_date < ? order by start_date desc, campaign_id
    """,
        [run_date],
    )
    out: list[dict[str, Any]] = []
    for row in closed.itertuples(index=False):
        start, cid = pd.Timestamp(row.start_date).date(), int(row.campaign_id)
        logs = {}
        for mode in MODES:
            found = published_decisions(store, start, replay=mode == "replay")
            if found is not None and (found[0]["campaign_id"] == cid).any():
                logs[mode] = (found[0][found[0]["campaign_id"] == cid], found[1])
        if not logs:
            continue
        outcomes = query(
            f"select household_id, {', '.join(OUTCOME_COLUMNS)} from marts.campaign_outcomes where campaign_id = ?",
            [cid],
        )
        scores = None
        if target is not None:
            cands = query("select * from marts.scoring_candidates where run_date = ? and campaign_id = ?", [start, cid])
            scores = pd.Series(np.asarray(target.predict(cands), float), index=cands["household_id"].to_numpy())
        for mode, (log, meta) in logs.items():
            joined = log.merge(outcomes, on="household_id", how="left")
            unmatched = int(joined["redeemed"].isna().sum())
            if unmatched:
                raise ValueError(
                    f"{unmatched} rows of the decision log of {start} (campaign {cid}) have no outcome "
                    "in marts.campaign_outcomes: rebuild the warehouse (couponflow daily --force)"
                )
            m = measure_campaign(
                joined,
                contact_cost=float(meta.get("policy", {}).get("contact_cost", settings.contact_cost)),
                causal=answers_our_sends and mode == "live",
                target_score=None if scores is None else joined["household_id"].map(scores).fillna(0.0).to_numpy(),
            )
            out.append(
                {
                    "campaign_id": cid,
                    "mode": mode,
                    "decided_on": start.isoformat(),
                    "window_end": pd.Timestamp(row.end_date).date().isoformat(),
                    "model": meta.get("model", {}).get("version"),
                    "target_model": target.version if target is not None else None,
                    **m,
                }
            )
    return out
