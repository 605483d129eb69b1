"""The campaign gate: before publishing, the day's decision obeys the policy it claims.

``CampaignGate.run(inputs)`` validates a ``models.decision.CampaignDecision`` (its sends, its
decision log and its summary) with GX suites on small DataFrames derived from it:

* ``sends``: every recipient is in the decision log as chosen and ``eligible``; no recipient is
  in the control group (recomputed by the caller's hash function, independently of the log); one
  row per (household, campaign); propensities in (0, 1]; scores in [0, 1]; costs > 0; a known arm;
* ``households``: no household gets more campaigns on the day than its per-day cap;
* ``campaigns``: sends per campaign within its head-count cap (planned size); sends, expected
  cost and expected redemptions per campaign equal the summary's;
* ``totals``: expected cost within the budget; totals equal the summary's; the decision log holds
  every candidate once.

* ``contacts``: no recipient is on the do-not-contact list, none exceeds the contact cap over
  our past sends (both read again from the lake by the caller, independently of the log).

A gate is a ``CampaignGate``: an explicit registry of ``CampaignCheck`` (a table name, a frame
builder, a suite builder) that a test can build and throw away. ``DEFAULT_GATE`` holds the checks
above and is what the daily flow runs; ``register`` adds a check to it (or to the gate given).
Frames are built from ``CampaignInputs``: this module opens no store and no warehouse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from couponflow.platform.config import Settings
from expectations.runtime import GateResult, GateRun, run_suite

GATE = "campaign"
TOL = 1e-6  # the summary rounds money to 6 decimals
ARMS = ["exploit", "explore"]


@dataclass(frozen=True)
class CampaignInputs:
    """A decision and what it is checked against."""

    decision: Any  # models.decision.CampaignDecision (its sends, decisions, summary, run_date)
    settings: Settings
    in_control_group: Callable[[np.ndarray], np.ndarray]  # household ids -> in the long-lived control group
    do_not_contact: frozenset[int] = frozenset()
    past_sends: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            {"household_id": pd.Series(dtype="int64"), "campaign_id": pd.Series(dtype="int64")}
        )
    )


@dataclass(frozen=True)
class CampaignCheck:
    table: str
    frame: Callable[[CampaignInputs], pd.DataFrame]
    suite: Callable[[], list]
    index_columns: tuple[str, ...] = ()


# -- frames --------------------------------------------------------------------------------


def sends_frame(inputs: CampaignInputs) -> pd.DataFrame:
    decision = inputs.decision
    sends = decision.sends.reset_index(drop=True)
    log = decision.decisions[["household_id", "campaign_id", "status", "chosen"]].rename(
        columns={"status": "logged_status", "chosen": "logged_chosen"}
    )
    log = log.drop_duplicates(["household_id", "campaign_id"])
    out = sends.merge(log, on=["household_id", "campaign_id"], how="left")
    hh = out["household_id"].to_numpy()
    out["in_control_group"] = inputs.in_control_group(hh) if len(out) else np.zeros(0, dtype=bool)
    return out


def households_frame(inputs: CampaignInputs) -> pd.DataFrame:
    counts = inputs.decision.sends.groupby("household_id").size().rename("sends").reset_index()
    counts["cap"] = inputs.settings.max_campaigns_per_household_per_day
    return counts.astype({"household_id": "int64", "sends": "int64", "cap": "int64"})


def campaigns_frame(inputs: CampaignInputs) -> pd.DataFrame:
    decision = inputs.decision
    summary = pd.DataFrame(
        decision.summary.get("campaigns") or [],
        columns=["campaign_id", "planned_size", "sends", "expected_cost", "expected_redemptions"],
    )
    summary = summary.rename(
        columns={
            "sends": "summary_sends",
            "expected_cost": "summary_cost",
            "expected_redemptions": "summary_redemptions",
        }
    )
    summary = summary.astype({"campaign_id": "int64", "planned_size": "float64"})
    s = decision.sends
    actual = (
        s.groupby("campaign_id")
        .agg(sends=("household_id", "size"), cost=("expected_cost", "sum"), redemptions=("score", "sum"))
        .reset_index()
    )
    actual = actual.astype({"campaign_id": "int64"})
    out = summary.merge(actual, on="campaign_id", how="outer")
    out["in_summary"] = out["summary_sends"].notna()
    for col in ("sends", "cost", "redemptions", "summary_sends", "summary_cost", "summary_redemptions"):
        out[col] = out[col].astype("float64").fillna(0.0)
    out["cost_gap"] = (out["cost"] - out["summary_cost"]).abs()
    out["redemptions_gap"] = (out["redemptions"] - out["summary_redemptions"]).abs()
    return out.sort_values("campaign_id").reset_index(drop=True)


def totals_frame(inputs: CampaignInputs) -> pd.DataFrame:
    s, d, summ = inputs.decision.sends, inputs.decision.decisions, inputs.decision.summary
    settings = inputs.settings
    cost = float(s["expected_cost"].sum())
    keys = d[["household_id", "campaign_id"]]
    return pd.DataFrame(
        [
            {
                "sends": len(s),
                "summary_sends": int(summ.get("sends", -1)),
                "chosen_in_log": int(d["chosen"].sum()),
                "expected_cost": cost,
                "budget": float(settings.budget_per_day),
                "budget_left": float(settings.budget_per_day) - cost,
                # a summary without a budget (a replay on history) is one with no money limit
                "summary_budget": np.inf if summ.get("budget", np.nan) is None else float(summ.get("budget", np.nan)),
                "cost_gap": abs(cost - float(summ.get("expected_cost", np.nan))),
                "redemptions_gap": abs(float(s["score"].sum()) - float(summ.get("expected_redemptions", np.nan))),
                "candidates": len(d),
                "summary_candidates": int(summ.get("candidates", -1)),
                "duplicate_candidates": int(keys.duplicated().sum()),
            }
        ]
    )


# -- suites --------------------------------------------------------------------------------


def sends_suite() -> list:
    import great_expectations as gx

    E = gx.expectations
    bug = "the allocation sent a pair it must not: do not publish; check models/decision.py and models/policy.py"
    return [
        E.ExpectColumnValuesToBeInSet(
            column="in_control_group",
            value_set=[False],
            meta={"fix": f"a control-group household would be contacted ({bug})"},
        ),
        E.ExpectColumnValuesToBeInSet(
            column="logged_status",
            value_set=["eligible"],
            meta={"fix": f"every recipient must be eligible in the decision log ({bug})"},
        ),
        E.ExpectColumnValuesToNotBeNull(
            column="logged_status",
            meta={
                "fix": "a recipient is missing from the decision log: "
                "publish sends and decisions from the same decision"
            },
        ),
        E.ExpectColumnValuesToBeInSet(
            column="logged_chosen",
            value_set=[True],
            meta={"fix": "a recipient is not marked chosen in the decision log: sends and log disagree"},
        ),
        E.ExpectCompoundColumnsToBeUnique(
            column_list=["household_id", "campaign_id"],
            meta={"fix": "a household would receive the same campaign twice"},
        ),
        E.ExpectColumnValuesToBeBetween(
            column="propensity",
            min_value=0,
            max_value=1,
            strict_min=True,
            meta={"fix": "a sent pair must have a logged propensity in (0, 1] for off-policy learning"},
        ),
        E.ExpectColumnValuesToBeBetween(
            column="score", min_value=0, max_value=1, meta={"fix": "scores are probabilities: check the model's output"}
        ),
        E.ExpectColumnValuesToBeBetween(
            column="expected_cost",
            min_value=0,
            strict_min=True,
            meta={"fix": "an expected cost must be > 0 (p x discount + contact cost)"},
        ),
        E.ExpectColumnValuesToBeInSet(
            column="arm", value_set=ARMS, meta={"fix": f"a send's arm must be one of {ARMS}"}
        ),
    ]


def households_suite() -> list:
    import great_expectations as gx

    E = gx.expectations
    return [
        E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="cap",
            column_B="sends",
            or_equal=True,
            meta={
                "fix": "a household would get more campaigns on the day than "
                "COUPONFLOW_MAX_CAMPAIGNS_PER_HOUSEHOLD_PER_DAY allows"
            },
        )
    ]


def campaigns_suite() -> list:
    import great_expectations as gx

    E = gx.expectations
    fix = {"fix": "the manifest's summary must describe the sends it publishes: recompute the summary"}
    return [
        E.ExpectColumnValuesToBeInSet(
            column="in_summary", value_set=[True], meta={"fix": "a campaign is sent but missing from the summary"}
        ),
        E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="planned_size",
            column_B="sends",
            or_equal=True,
            meta={"fix": "a campaign would be sent to more households than its head-count cap (planned size)"},
        ),
        E.ExpectColumnPairValuesToBeEqual(column_A="sends", column_B="summary_sends", meta=fix),
        E.ExpectColumnValuesToBeBetween(column="cost_gap", max_value=TOL, meta=fix),
        E.ExpectColumnValuesToBeBetween(column="redemptions_gap", max_value=TOL, meta=fix),
    ]


def totals_suite() -> list:
    import great_expectations as gx

    E = gx.expectations
    fix = {"fix": "the manifest's summary must describe the sends it publishes: recompute the summary"}
    return [
        E.ExpectColumnValuesToBeBetween(
            column="budget_left",
            min_value=-TOL,
            meta={"fix": "the sends' expected cost exceeds COUPONFLOW_BUDGET_PER_DAY: the allocation broke the budget"},
        ),
        E.ExpectColumnPairValuesToBeEqual(
            column_A="budget",
            column_B="summary_budget",
            meta={"fix": "the summary's budget is not the configured COUPONFLOW_BUDGET_PER_DAY"},
        ),
        E.ExpectColumnPairValuesToBeEqual(column_A="sends", column_B="summary_sends", meta=fix),
        E.ExpectColumnPairValuesToBeEqual(
            column_A="sends",
            column_B="chosen_in_log",
            meta={"fix": "sends and the decision log's chosen rows disagree"},
        ),
        E.ExpectColumnValuesToBeBetween(column="cost_gap", max_value=TOL, meta=fix),
        E.ExpectColumnValuesToBeBetween(column="redemptions_gap", max_value=TOL, meta=fix),
        E.ExpectColumnPairValuesToBeEqual(column_A="candidates", column_B="summary_candidates", meta=fix),
        E.ExpectColumnValuesToBeBetween(
            column="duplicate_candidates",
            max_value=0,
            meta={"fix": "the decision log must hold each candidate pair once"},
        ),
    ]


def contacts_frame(inputs: CampaignInputs) -> pd.DataFrame:
    """Per recipient: is it on the do-not-contact list, and how many of our sends would it have in
    the trailing window? (Both come from the lake, read by the caller, not from the decision log.)"""
    listed = inputs.do_not_contact
    past = inputs.past_sends.groupby("household_id").size()
    today = inputs.decision.sends.groupby("household_id").size()
    frame = pd.DataFrame({"household_id": today.index.astype("int64"), "today": today.to_numpy()})
    frame["on_do_not_contact"] = frame["household_id"].isin(listed)
    frame["over_contact_cap"] = (
        frame["household_id"].map(past).fillna(0) + frame["today"] > inputs.settings.max_sends_in_window
    )
    return frame.astype({"on_do_not_contact": bool, "over_contact_cap": bool})


def contacts_suite() -> list:
    import great_expectations as gx

    E = gx.expectations
    return [
        E.ExpectColumnValuesToBeInSet(
            column="on_do_not_contact",
            value_set=[False],
            meta={"fix": "a household on config/do_not_contact.csv would be sent: the eligibility policy failed"},
        ),
        E.ExpectColumnValuesToBeInSet(
            column="over_contact_cap",
            value_set=[False],
            meta={"fix": "a household would exceed COUPONFLOW_MAX_SENDS_IN_WINDOW of our sends in the window"},
        ),
    ]


BUILT_IN: tuple[CampaignCheck, ...] = (
    CampaignCheck("sends", sends_frame, sends_suite, ("household_id", "campaign_id")),
    CampaignCheck("households", households_frame, households_suite, ("household_id",)),
    CampaignCheck("campaigns", campaigns_frame, campaigns_suite, ("campaign_id",)),
    CampaignCheck("totals", totals_frame, totals_suite),
    CampaignCheck("contacts", contacts_frame, contacts_suite, ("household_id",)),
)


class CampaignGate:
    """An explicit registry of campaign checks, run in order."""

    def __init__(self, checks: Iterable[CampaignCheck] = BUILT_IN) -> None:
        self.checks: list[CampaignCheck] = list(checks)

    def register(self, check: CampaignCheck) -> None:
        """Add a check (e.g. a retailer's own rule); a table name already present is kept as is."""
        if all(c.table != check.table for c in self.checks):
            self.checks.append(check)

    def run(self, inputs: CampaignInputs) -> GateRun:
        """Validate one day's decision; the GateRun's frames are what gets quarantined on failure."""
        label = inputs.decision.run_date.isoformat()
        results, frames = [], {}
        for chk in self.checks:
            frame = chk.frame(inputs)
            v = run_suite(f"campaign.{chk.table}", chk.suite, frame, index_columns=list(chk.index_columns) or None)
            results.append(GateResult(GATE, chk.table, label, v.checks, [v.record(GATE, chk.table, label, [label])]))
            frames[chk.table] = frame
        return GateRun(results, frames)


DEFAULT_GATE = CampaignGate()  # what the daily flow runs


def register(check: CampaignCheck, gate: CampaignGate = DEFAULT_GATE) -> None:
    """Add a check to every later campaign gate of this process (``DEFAULT_GATE``), or to ``gate``."""
    gate.register(check)
