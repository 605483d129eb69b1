"""What the report's behavioural-segment section reads (``segments`` is its pure content):
today's decision log with the segments attached to it, and each of our campaigns that started
before the run date with the segments attached on its start date, joined with its outcomes once
its window has landed."""

from __future__ import annotations

from datetime import date

import pandas as pd

from couponflow.app.publishing import published_decisions
from couponflow.app.report.segments import CampaignSegments, SegmentInputs
from couponflow.app.segments import attach_segments, segmentations
from couponflow.platform.resources import Resources
from models.segments import fit_in_force


def segment_inputs(res: Resources, run_date: date, decisions: pd.DataFrame | None) -> SegmentInputs:
    """What the report's segment section reads: today's candidates with their segments, and each
    of our campaigns that started before ``run_date`` with the segments attached on its start
    date, joined with its outcomes once its window has landed (``end_date < run_date``)."""
    today = attach_segments(res, run_date, decisions)
    fits = segmentations(res, run_date)
    seg = fit_in_force(fits, run_date)
    starts = res.warehouse.query(
        "select campaign_id, start_date, end_date, duration_days from marts.campaigns "
        "where start_date < ? order by start_date, campaign_id",
        [run_date],
    )
    campaigns = []
    for row in starts.itertuples(index=False):
        start, cid = pd.Timestamp(row.start_date).date(), int(row.campaign_id)
        found = published_decisions(res.store, start)
        if found is None or not (found[0]["campaign_id"] == cid).any():
            continue
        log, meta = found[0][found[0]["campaign_id"] == cid], found[1]
        segments = attach_segments(res, start, found[0])
        if segments is None:
            continue
        closed = pd.Timestamp(row.end_date).date() < run_date
        joined = log.merge(segments[["household_id", "segment"]], on="household_id", how="left")
        if closed:
            outcomes = res.warehouse.query(
                "select household_id, redeemed, redemption_discount from marts.campaign_outcomes where campaign_id = ?",
                [cid],
            )
            joined = joined.merge(outcomes, on="household_id", how="left")
        campaigns.append(
            CampaignSegments(
                campaign_id=cid,
                decided_on=start,
                window_end=pd.Timestamp(row.end_date).date(),
                duration_days=int(row.duration_days),
                log=joined,
                contact_cost=float(meta.get("policy", {}).get("contact_cost", res.settings.contact_cost)),
                closed=closed,
            )
        )
    return SegmentInputs(
        run_date=run_date,
        today=None
        if today is None or decisions is None
        else decisions.merge(today[["household_id", "segment"]], on="household_id", how="left"),
        fit=None if seg is None else {"cut": seg.cut, "k": seg.k, "names": seg.names, "sizes": seg.sizes},
        campaigns=campaigns,
        answers_our_sends=res.source.answers_our_sends,
    )
