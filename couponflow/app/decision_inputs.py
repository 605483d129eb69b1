"""What a decision and training read from the warehouse: one run date's candidates (live or
replayed on history), the campaigns, the training examples, and the labels that score a replay
once its window has landed."""

from __future__ import annotations

from datetime import date

import pandas as pd

from couponflow.platform.warehouse import Warehouse
from models.decision import CampaignDecision


def load_candidates(wh: Warehouse, run_date: date) -> pd.DataFrame:
    return wh.query(
        """
        select s.*, c.lines_per_redeemer
        from marts.scoring_candidates s
        join marts.campaigns c using (campaign_id)
        where s.run_date = ?
        order by s.campaign_id, s.household_id
        """,
        [run_date],
    )


TRAINING_ORDER = "order by campaign_id, household_id"  # one canonical order: training must not depend on scan order


def load_training_examples(wh: Warehouse) -> pd.DataFrame:
    """marts.training_examples in a fixed order (training shuffles with a seed, so the order it
    starts from must be the same on every run)."""
    return wh.query(f"select * from marts.training_examples {TRAINING_ORDER}")


def load_campaigns(wh: Warehouse) -> pd.DataFrame:
    return wh.query("select * from marts.campaigns")


def replay_candidates(wh: Warehouse, run_date: date, share: float) -> pd.DataFrame:
    """The day's candidates restricted to the households the retailer really sent each campaign;
    each campaign may reach ``share`` of its real recipients (its cap replaces the planned size)."""
    cands = wh.query(
        """
        select c.* replace (cast(ceil(? * r.n) as integer) as planned_size), m.lines_per_redeemer
        from marts.scoring_candidates c
        join staging.stg_campaigns s using (household_id, campaign_id)
        join (select campaign_id, count(*) as n from staging.stg_campaigns group by 1) r using (campaign_id)
        join marts.campaigns m using (campaign_id)
        where c.run_date = ?
        order by campaign_id, household_id
        """,
        [share, run_date],
    )
    starting = wh.query("select count(*) as n from marts.campaigns where start_date = ?", [run_date])
    if cands.empty and int(starting["n"][0]) > 0:
        raise ValueError(
            f"no real recipients of the campaigns starting {run_date} are in the lake: a replay needs the "
            "retailer's sends of that day, which land with it (land through the run date first)"
        )
    return cands


def campaign_starts(wh: Warehouse, first: date, last: date) -> list[date]:
    """The dates in [first, last] on which at least one campaign starts."""
    df = wh.query(
        "select distinct start_date from marts.campaigns where start_date between ? and ? order by 1", [first, last]
    )
    return [pd.Timestamp(d).date() for d in df["start_date"]]


def replay_capture(wh: Warehouse, decision: CampaignDecision) -> dict[int, float] | None:
    """Share of each campaign's real redeemers among our sends, once its window has fully landed."""
    if decision.sends.empty:
        return None
    ids = sorted(int(c) for c in decision.sends["campaign_id"].unique())
    labels = wh.query(
        "select household_id, campaign_id, label, label_is_final from marts.training_examples "
        f"where campaign_id in ({', '.join(str(i) for i in ids)})",
    )
    if labels.empty or not labels["label_is_final"].all():
        return None
    sent = labels.merge(decision.sends[["household_id", "campaign_id"]], on=["household_id", "campaign_id"])
    out = {}
    for cid in ids:
        total = labels.loc[labels["campaign_id"] == cid, "label"].sum()
        if total:
            out[cid] = float(sent.loc[sent["campaign_id"] == cid, "label"].sum() / total)
    return out
