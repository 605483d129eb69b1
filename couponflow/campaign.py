"""The day's campaign: candidates -> eligibility -> scores -> assignment -> published files.

``decide`` reads the marts for one run date and applies the policy and the champion (plain
functions from ``models/``); ``publish_campaign`` writes ``decisions/date=D/`` and then
``campaigns/date=D/`` (manifest last, the campaigns manifest being the commit point of the day).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from couponflow import code_version, manifest
from couponflow.config import Settings
from couponflow.contract import dated_prefix
from couponflow.storage import ObjectStore
from couponflow.warehouse import query_df
from models.policy import HOLDOUT, PolicyConfig, decide_arms, seed_for
from models.eligibility import ELIGIBLE, eligibility
from models.scoring import Scorer

SENDS = "sends.parquet"
REPLAY_AREA = "replay/"
DECISIONS = "decisions.parquet"

SENDS_SCHEMA = pa.schema([
    ("household_id", pa.int64()), ("campaign_id", pa.int64()), ("score", pa.float64()),
    ("propensity", pa.float64()), ("arm", pa.string()), ("expected_cost", pa.float64()),
])
DECISIONS_SCHEMA = pa.schema([
    ("run_date", pa.date32()), ("household_id", pa.int64()), ("campaign_id", pa.int64()),
    ("campaign_type", pa.string()), ("status", pa.string()), ("score", pa.float64()),
    ("expected_cost", pa.float64()), ("chosen", pa.bool_()), ("arm", pa.string()),
    ("p_selected", pa.float64()), ("propensity", pa.float64()),
])
# decision log: chosen = sent; arm = exploit | explore (sent), holdout (selected, held back as
# the campaign's control), not_chosen (eligible), or the eligibility status (control, inactive);
# propensity = the logging policy's probability of sending the pair, p_selected = of selecting it


@dataclass
class CampaignDecision:
    run_date: date
    sends: pd.DataFrame
    decisions: pd.DataFrame
    summary: dict[str, Any]
    model: dict[str, Any]  # the scorer's description: version, kind, hold-out metrics


def policy_settings(settings: Settings) -> dict[str, Any]:
    """The settings that shape a decision (recorded in the manifest: same settings, same bytes)."""
    return {
        "budget_per_day": settings.budget_per_day,
        "contact_cost": settings.contact_cost,
        "default_discount": settings.default_discount,
        "max_campaigns_per_household_per_day": settings.max_campaigns_per_household_per_day,
        "active_window_days": settings.active_window_days,
        "control_share": settings.control_share,
        "control_salt": settings.control_salt,
        "prior_strength": settings.prior_strength,
        "max_sends_in_window": settings.max_sends_in_window,
        "contact_window_days": settings.contact_window_days,
        "explore_share": settings.explore_share,
        "holdout_share": settings.holdout_share,
        "policy_salt": settings.policy_salt,
    }


def load_candidates(settings: Settings, run_date: date) -> pd.DataFrame:
    return query_df(
        settings,
        """
        select s.*, c.lines_per_redeemer
        from marts.scoring_candidates s
        join marts.campaigns c using (campaign_id)
        where s.run_date = ?
        order by s.campaign_id, s.household_id
        """,
        [run_date],
    )


def contact_facts(candidates: pd.DataFrame, sends: pd.DataFrame, campaigns: pd.DataFrame,
                  run_date: date) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate row: our sends in the trailing window, and whether one of our campaigns of
    the same type is still live for the household on the run date."""
    c = candidates
    counts = sends.groupby("household_id").size()
    recent = c["household_id"].map(counts).fillna(0).to_numpy(dtype=int)
    live = sends.merge(campaigns[["campaign_id", "campaign_type", "end_date"]], on="campaign_id")
    live = live[pd.to_datetime(live["end_date"]) >= pd.Timestamp(run_date)]
    live_pairs = set(zip(live["household_id"], live["campaign_type"]))
    same_type = np.array([(h, t) in live_pairs for h, t in zip(c["household_id"], c["campaign_type"])], dtype=bool)
    return recent, same_type


def decide(settings: Settings, run_date: date, candidates: pd.DataFrame, scorer: Scorer,
           *, do_not_contact: set[int] | frozenset[int] = frozenset(),
           recent_sends: np.ndarray | None = None, live_same_type: np.ndarray | None = None) -> CampaignDecision:
    """Apply eligibility, the champion's scores and the budgeted assignment to one day's candidates."""
    c = candidates.reset_index(drop=True)
    status = eligibility(
        c["household_id"].to_numpy(), c["days_since_last_purchase"].to_numpy(),
        active_window_days=settings.active_window_days,
        control_share=settings.control_share, control_salt=settings.control_salt,
        do_not_contact=c["household_id"].isin(do_not_contact).to_numpy(),
        recent_sends=recent_sends, max_sends=settings.max_sends_in_window,
        live_same_type=live_same_type,
    )
    score = np.asarray(scorer.predict(c), dtype=float) if len(c) else np.zeros(0)
    if "lines_per_redeemer" not in c:
        raise ValueError("candidates lack lines_per_redeemer: load them with load_candidates (it joins marts.campaigns)")
    # what a redeeming household costs: the discount of one coupon line times the lines a redeemer takes
    discount = (c["expected_discount"].astype(float).fillna(settings.default_discount)
                * c["lines_per_redeemer"].astype(float)).to_numpy()
    cost = score * discount + settings.contact_cost
    eligible = status == ELIGIBLE
    caps = {int(k): int(v) for k, v in c.groupby("campaign_id")["planned_size"].first().items()}
    arm = status.astype(object)
    p_selected = np.zeros(len(c))
    propensity = np.zeros(len(c))
    if eligible.any():
        policy = decide_arms(
            c["household_id"].to_numpy()[eligible], c["campaign_id"].to_numpy()[eligible],
            score[eligible], cost[eligible], settings.budget_per_day, caps,
            PolicyConfig(settings.explore_share, settings.holdout_share,
                         settings.max_campaigns_per_household_per_day),
            np.random.default_rng(seed_for(settings.policy_salt, run_date.isoformat())),
        )
        arm[eligible] = policy.arm
        p_selected[eligible] = policy.p_selected
        propensity[eligible] = policy.propensity
    chosen = np.isin(arm, ("exploit", "explore"))
    decisions = pd.DataFrame({
        "run_date": pd.Series([run_date] * len(c), dtype="object"),
        "household_id": c["household_id"].astype("int64"),
        "campaign_id": c["campaign_id"].astype("int64"),
        "campaign_type": c["campaign_type"].astype(str),
        "status": status.astype(str),
        "score": score, "expected_cost": cost, "chosen": chosen, "arm": arm.astype(str),
        "p_selected": p_selected, "propensity": propensity,
    })
    sends = decisions.loc[chosen, list(SENDS_SCHEMA.names)].reset_index(drop=True)
    return CampaignDecision(run_date, sends, decisions, _summary(settings, c, decisions), scorer.describe())


def _summary(settings: Settings, cands: pd.DataFrame, d: pd.DataFrame) -> dict[str, Any]:
    per_campaign = []
    for cid, g in d.groupby("campaign_id", sort=True):
        sent = g[g["chosen"]]
        per_campaign.append({
            "campaign_id": int(cid), "campaign_type": str(g["campaign_type"].iloc[0]),
            "planned_size": int(cands.loc[cands["campaign_id"] == cid, "planned_size"].iloc[0]),
            "candidates": len(g), "eligible": int((g["status"] == ELIGIBLE).sum()),
            "control": int((g["status"] == "control").sum()), "sends": len(sent),
            "explore": int((g["arm"] == "explore").sum()), "holdout": int((g["arm"] == HOLDOUT).sum()),
            "expected_redemptions": round(float(sent["score"].sum()), 6),
            "expected_cost": round(float(sent["expected_cost"].sum()), 6),
        })
    sent = d[d["chosen"]]
    return {
        "run_date": d["run_date"].iloc[0].isoformat() if len(d) else None,
        "campaigns": per_campaign,
        "candidates": len(d),
        "households_in_control": int(d.loc[d["status"] == "control", "household_id"].nunique()),
        "sends": len(sent),
        "explore_sends": int((d["arm"] == "explore").sum()),
        "holdout": int((d["arm"] == HOLDOUT).sum()),
        "budget": settings.budget_per_day,
        "expected_cost": round(float(sent["expected_cost"].sum()), 6),
        "expected_redemptions": round(float(sent["score"].sum()), 6),
        "mean_score": round(float(d["score"].mean()), 8) if len(d) else None,
        "note": "" if len(d) else "no campaign starts on this date: nothing to send",
    }


def _table(df: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pandas(df[schema.names], schema=schema, preserve_index=False)


def publish_campaign(
    store: ObjectStore, settings: Settings, decision: CampaignDecision, *, force: bool = False,
    replay: bool = False,
) -> manifest.Dataset:
    """Publish the decision log, then the campaign (its manifest is the day's commit point).

    A replay on history publishes under ``replay/`` so that it never mixes with real campaigns.
    """
    day = decision.run_date
    area = REPLAY_AREA if replay else ""
    meta = {
        "kind": "campaign", "run_date": day.isoformat(), "code_version": code_version(),
        "mode": "replay" if replay else "live",
        "model": decision.model,
        "policy": policy_settings(settings),
    }
    manifest.publish(
        store, area + dated_prefix("decisions", day),
        {DECISIONS: manifest.parquet_bytes(_table(decision.decisions, DECISIONS_SCHEMA))},
        {**meta, "kind": "decisions"}, force=force,
    )
    return manifest.publish(
        store, area + dated_prefix("campaigns", day),
        {SENDS: manifest.parquet_bytes(_table(decision.sends, SENDS_SCHEMA))},
        {**meta, "summary": decision.summary}, force=force,
    )


def published_campaign(store: ObjectStore, day: date) -> manifest.Dataset | None:
    return manifest.read(store, dated_prefix("campaigns", day))


def published_decisions(store: ObjectStore, day: date, *, replay: bool = False
                        ) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """The decision log published for ``day`` (under ``replay/`` for a replay) and its manifest."""
    import io

    import pyarrow.parquet as pq

    ds = manifest.read(store, (REPLAY_AREA if replay else "") + dated_prefix("decisions", day))
    if ds is None:
        return None
    return pq.read_table(io.BytesIO(manifest.read_object(store, ds, DECISIONS))).to_pandas(), ds.manifest


# -- replay on history --------------------------------------------------------------------------

def replay_candidates(settings: Settings, run_date: date, share: float) -> pd.DataFrame:
    """The day's candidates restricted to the households the retailer really sent each campaign;
    each campaign may reach ``share`` of its real recipients (its cap replaces the planned size)."""
    cands = query_df(
        settings,
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
    starting = query_df(settings, "select count(*) as n from marts.campaigns where start_date = ?", [run_date])
    if cands.empty and int(starting["n"][0]) > 0:
        raise ValueError(
            f"no real recipients of the campaigns starting {run_date} are in the lake: a replay needs the "
            "retailer's sends of that day, which land with it (land through the run date first)"
        )
    return cands


def campaign_starts(settings: Settings, first: date, last: date) -> list[date]:
    """The dates in [first, last] on which at least one campaign starts."""
    df = query_df(settings, "select distinct start_date from marts.campaigns where start_date between ? and ? order by 1",
                  [first, last])
    return [pd.Timestamp(d).date() for d in df["start_date"]]


def replay_settings(settings: Settings, candidates: pd.DataFrame) -> Settings:
    """Replay spends no money and explores nothing: only the campaigns' caps bind."""
    return settings.model_copy(update={"budget_per_day": float(len(candidates)) * 1e6 or 1.0,
                                       "explore_share": 0.0, "holdout_share": 0.0})


def replay_capture(settings: Settings, decision: CampaignDecision) -> dict[int, float] | None:
    """Share of each campaign's real redeemers among our sends, once its window has fully landed."""
    if decision.sends.empty:
        return None
    ids = sorted(int(c) for c in decision.sends["campaign_id"].unique())
    labels = query_df(
        settings,
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
