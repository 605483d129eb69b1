"""The day's decision as a pure function: candidates -> eligibility -> scores -> cost -> arms.

``decide`` takes one run date's candidates (a frame from ``marts.scoring_candidates`` joined with
``marts.campaigns``), the scorer, the settings and the contact facts, and returns the decision log
(every candidate with its status, arm and exact propensity), the sends and the summary the
manifest carries. It reads nothing and writes nothing: ``couponflow.app.decision_inputs`` reads
the candidates, ``couponflow.app.publishing`` writes the files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from couponflow.platform.config import Settings
from models.cost import cost_per_redeemer, expected_cost
from models.eligibility import ELIGIBLE, eligibility
from models.policy import HOLDOUT, PolicyConfig, decide_arms, seed_for
from models.scoring import Scorer

NO_BUDGET = math.inf  # budget_per_day of a decision with no money budget (a replay on history)
SENDS_COLUMNS = ("household_id", "campaign_id", "score", "propensity", "arm", "expected_cost")
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
        "budget_per_day": _recorded_budget(settings),
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


def contact_facts(
    candidates: pd.DataFrame, sends: pd.DataFrame, campaigns: pd.DataFrame, run_date: date
) -> tuple[np.ndarray, np.ndarray]:
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


def decide(
    settings: Settings,
    run_date: date,
    candidates: pd.DataFrame,
    scorer: Scorer,
    *,
    do_not_contact: set[int] | frozenset[int] = frozenset(),
    recent_sends: np.ndarray | None = None,
    live_same_type: np.ndarray | None = None,
) -> CampaignDecision:
    """Apply eligibility, the champion's scores and the budgeted assignment to one day's candidates."""
    c = candidates.reset_index(drop=True)
    status = eligibility(
        c["household_id"].to_numpy(),
        c["days_since_last_purchase"].to_numpy(),
        active_window_days=settings.active_window_days,
        control_share=settings.control_share,
        control_salt=settings.control_salt,
        do_not_contact=c["household_id"].isin(do_not_contact).to_numpy(),
        recent_sends=recent_sends,
        max_sends=settings.max_sends_in_window,
        live_same_type=live_same_type,
    )
    score = np.asarray(scorer.predict(c), dtype=float) if len(c) else np.zeros(0)
    if "lines_per_redeemer" not in c:
        raise ValueError(
            "candidates lack lines_per_redeemer: load them with "
            "couponflow.app.decision_inputs.load_candidates (it joins marts.campaigns)"
        )
    # what a redeeming household costs: the discount of one coupon line times the lines a redeemer takes
    cost = expected_cost(
        score,
        cost_per_redeemer(c["expected_discount"], c["lines_per_redeemer"], settings.default_discount),
        settings.contact_cost,
    )
    eligible = status == ELIGIBLE
    caps = {int(k): int(v) for k, v in c.groupby("campaign_id")["planned_size"].first().items()}
    arm = status.astype(object)
    p_selected = np.zeros(len(c))
    propensity = np.zeros(len(c))
    if eligible.any():
        policy = decide_arms(
            c["household_id"].to_numpy()[eligible],
            c["campaign_id"].to_numpy()[eligible],
            score[eligible],
            cost[eligible],
            _solver_budget(settings, cost[eligible]),
            caps,
            PolicyConfig(settings.explore_share, settings.holdout_share, settings.max_campaigns_per_household_per_day),
            np.random.default_rng(seed_for(settings.policy_salt, run_date.isoformat())),
        )
        arm[eligible] = policy.arm
        p_selected[eligible] = policy.p_selected
        propensity[eligible] = policy.propensity
    chosen = np.isin(arm, ("exploit", "explore"))
    decisions = pd.DataFrame(
        {
            "run_date": pd.Series([run_date] * len(c), dtype="object"),
            "household_id": c["household_id"].astype("int64"),
            "campaign_id": c["campaign_id"].astype("int64"),
            "campaign_type": c["campaign_type"].astype(str),
            "status": status.astype(str),
            "score": score,
            "expected_cost": cost,
            "chosen": chosen,
            "arm": arm.astype(str),
            "p_selected": p_selected,
            "propensity": propensity,
        }
    )
    sends = decisions.loc[chosen, list(SENDS_COLUMNS)].reset_index(drop=True)
    return CampaignDecision(run_date, sends, decisions, _summary(settings, c, decisions), scorer.describe())


def _summary(settings: Settings, cands: pd.DataFrame, d: pd.DataFrame) -> dict[str, Any]:
    per_campaign = []
    for cid, g in d.groupby("campaign_id", sort=True):
        sent = g[g["chosen"]]
        per_campaign.append(
            {
                "campaign_id": int(cid),
                "campaign_type": str(g["campaign_type"].iloc[0]),
                "planned_size": int(cands.loc[cands["campaign_id"] == cid, "planned_size"].iloc[0]),
                "candidates": len(g),
                "eligible": int((g["status"] == ELIGIBLE).sum()),
                "control": int((g["status"] == "control").sum()),
                "sends": len(sent),
                "explore": int((g["arm"] == "explore").sum()),
                "holdout": int((g["arm"] == HOLDOUT).sum()),
                "expected_redemptions": round(float(sent["score"].sum()), 6),
                "expected_cost": round(float(sent["expected_cost"].sum()), 6),
            }
        )
    sent = d[d["chosen"]]
    return {
        "run_date": d["run_date"].iloc[0].isoformat() if len(d) else None,
        "campaigns": per_campaign,
        "candidates": len(d),
        "households_in_control": int(d.loc[d["status"] == "control", "household_id"].nunique()),
        "sends": len(sent),
        "explore_sends": int((d["arm"] == "explore").sum()),
        "holdout": int((d["arm"] == HOLDOUT).sum()),
        "budget": _recorded_budget(settings),
        "expected_cost": round(float(sent["expected_cost"].sum()), 6),
        "expected_redemptions": round(float(sent["score"].sum()), 6),
        "mean_score": round(float(d["score"].mean()), 8) if len(d) else None,
        "note": "" if len(d) else "no campaign starts on this date: nothing to send",
    }


def _recorded_budget(settings: Settings) -> float | None:
    """The budget a manifest records: None when there is none (a replay on history)."""
    return None if math.isinf(settings.budget_per_day) else settings.budget_per_day


def _solver_budget(settings: Settings, cost: np.ndarray) -> float:
    """Without a money budget only the caps bind: the cost of sending every pair is a budget
    that no choice can exceed (the solver takes finite budgets only)."""
    return float(cost.sum()) + 1.0 if math.isinf(settings.budget_per_day) else settings.budget_per_day


def replay_settings(settings: Settings, candidates: pd.DataFrame) -> Settings:
    """Replay spends no money and explores nothing: only the campaigns' caps bind (no budget)."""
    del candidates  # the caps come with them; the budget no longer depends on their number
    return settings.model_copy(update={"budget_per_day": NO_BUDGET, "explore_share": 0.0, "holdout_share": 0.0})
