"""The campaign gate passes every real decision of the year and stops every kind of bad one.

Bad decisions are real ones (the champion v0 rule on the real year) with one thing broken, as a
buggy allocation would produce them; they go through the gate function, never published.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pandas as pd
import pytest

from couponflow.app.gates import check_campaign, enforce
from couponflow.platform.config import load_settings
from couponflow.platform.gate_results import GateFailed
from couponflow.platform.storage import LocalStore
from expectations import campaign_gate
from expectations.campaign_gate import CampaignCheck, CampaignGate
from models.decision import CampaignDecision
from models.scoring import v0_scorer
from tests.helpers import decide_day, resources

D = date(2017, 7, 12)  # campaigns 11 and 12 start


def _decide(res, day: date) -> CampaignDecision:
    return decide_day(res, day, v0_scorer(res.settings.prior_strength))


def test_the_campaign_gate_passes_every_real_decision_of_the_year(landed_year):
    res = landed_year["res"]
    starts = res.warehouse.query(
        "select distinct start_date from marts.campaigns where start_date > date '2017-01-01' order by 1"
    )["start_date"]
    days = [d.date() for d in starts] + [date(2017, 1, 2), date(2017, 12, 25)]  # and two days without one
    assert len(days) == 24
    for day in days:
        decision = _decide(res, day)
        run = check_campaign(res, decision)
        assert [r.status for r in run.results] == ["pass"] * 5, [r.one_line() for r in run.failures]
        assert (len(decision.sends) > 0) == ((day.month, day.day) not in ((1, 2), (12, 25)))


@pytest.fixture(scope="module")
def real(landed_year):
    res = landed_year["res"]
    decision = _decide(res, D)
    assert set(decision.sends["campaign_id"]) == {11, 12} and len(decision.sends) > 100
    return res, decision


def _copy(decision) -> CampaignDecision:
    return replace(
        decision,
        sends=decision.sends.copy(),
        decisions=decision.decisions.copy(),
        summary=json.loads(json.dumps(decision.summary)),
    )


def _send(decision, status: str) -> None:
    """Send the first candidate with ``status`` as if the allocation had chosen it."""
    d = decision.decisions
    i = d.index[d["status"] == status][0]
    d.loc[i, ["chosen", "arm", "propensity"]] = [True, "exploit", 1.0]
    decision.sends = pd.concat([decision.sends, d.loc[[i], list(decision.sends.columns)]], ignore_index=True)


def _second_campaign_for_a_household(decision) -> None:
    d, s = decision.decisions, decision.sends
    h = int(s.loc[s["campaign_id"] == 11, "household_id"].iloc[0])
    i = d.index[(d["household_id"] == h) & (d["campaign_id"] == 12)][0]
    d.loc[i, ["chosen", "arm", "propensity"]] = [True, "exploit", 1.0]
    decision.sends = pd.concat([s, d.loc[[i], list(s.columns)]], ignore_index=True)


def _zero_propensity(decision) -> None:
    decision.sends.loc[decision.sends.index[0], "propensity"] = 0.0


def _summary_cost(decision) -> None:
    decision.summary["expected_cost"] += 3.5
    decision.summary["campaigns"][0]["expected_cost"] += 3.5


def _planned_size(decision) -> None:
    decision.summary["campaigns"][0]["planned_size"] = 5


def _duplicate_send(decision) -> None:
    decision.sends = pd.concat([decision.sends, decision.sends.iloc[:1]], ignore_index=True)


BAD = {
    # name: (mutation, settings overrides, table, column)
    "a control-group household sent": (lambda d: _send(d, "control"), {}, "sends", "in_control_group"),
    "an inactive household sent": (lambda d: _send(d, "inactive"), {}, "sends", "logged_status"),
    "budget exceeded": (lambda d: None, {"budget_per_day": 20.0}, "totals", "budget_left"),
    "a household over its per-day cap": (_second_campaign_for_a_household, {}, "households", "cap,sends"),
    "a propensity of 0": (_zero_propensity, {}, "sends", "propensity"),
    "expected cost differs from the summary": (_summary_cost, {}, "totals", "cost_gap"),
    "a campaign over its head-count cap": (_planned_size, {}, "campaigns", "planned_size,sends"),
    "a household sent the same campaign twice": (_duplicate_send, {}, "sends", "household_id,campaign_id"),
    "a household over the contact cap": (
        _second_campaign_for_a_household,
        {"max_sends_in_window": 1},
        "contacts",
        "over_contact_cap",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_decision_fails_with_a_clear_reason(real, case):
    res, decision = real
    mutate, overrides, table, column = BAD[case]
    bad = _copy(decision)
    mutate(bad)
    if overrides:
        res = replace(res, settings=load_settings(home=res.settings.home_dir, **overrides))
    run = check_campaign(res, bad)
    result = next(r for r in run.results if r.table == table)
    assert column in [c.column for c in result.failures], [r.one_line() for r in run.results]
    line = result.one_line()
    assert line.startswith(f"campaign gate FAILED on {table}.") and "date=2017-07-12" in line and "Fix:" in line


def test_a_failing_campaign_gate_is_quarantined_and_stops(real, tmp_path):
    res, decision = real
    store = LocalStore(tmp_path / "lake")
    bad = _copy(decision)
    _send(bad, "control")
    with pytest.raises(GateFailed) as exc:
        enforce(store, check_campaign(res, bad), D)
    assert exc.value.gate == "campaign" and "control-group household" in str(exc.value)
    prefix = "quarantine/campaign/date=2017-07-12/sends"
    assert store.list(prefix + "/") == [f"{prefix}/sends.parquet", f"{prefix}/validation.json"]
    assert store.list("campaigns/") == [] and store.list("decisions/") == []


def test_later_work_can_register_its_own_checks(real):
    """E.g. a retailer's own rule: a frame builder and a suite, run with the others, in a gate the
    test builds and throws away (the default gate the daily flow runs is left as it was)."""
    import great_expectations as gx

    res, decision = real
    blocked = {int(decision.sends["household_id"].iloc[0])}

    def frame(inputs):
        sends = inputs.decision.sends
        return pd.DataFrame(
            {"household_id": sends["household_id"], "do_not_contact": sends["household_id"].isin(blocked)}
        )

    def suite():
        return [
            gx.expectations.ExpectColumnValuesToBeInSet(
                column="do_not_contact", value_set=[False], meta={"fix": "never contact a do-not-contact household"}
            )
        ]

    gate = CampaignGate()
    campaign_gate.register(CampaignCheck("do_not_contact", frame, suite, ("household_id",)), gate)
    run = check_campaign(res, decision, gate)
    assert [r.table for r in run.failures] == ["do_not_contact"]
    assert "never contact" in run.failures[0].one_line()
    assert [c.table for c in campaign_gate.DEFAULT_GATE.checks] == [c.table for c in campaign_gate.BUILT_IN]
    assert check_campaign(res, decision).success


def test_a_household_on_the_do_not_contact_list_is_caught_from_the_lake(real, tmp_path):
    """The list is read again from the lake, independently of the statuses in the decision log."""
    res, decision = real
    home = load_settings(home=tmp_path / "home")
    store = LocalStore(home.lake_dir)
    listed = int(decision.sends["household_id"].iloc[0])
    store.put("config/do_not_contact.csv", f"household_id\n{listed}\n".encode())
    run = check_campaign(resources(home, store, res.source), decision)
    result = next(r for r in run.results if r.table == "contacts")
    assert [c.column for c in result.failures] == ["on_do_not_contact"] and "do_not_contact" in result.one_line()
