"""The marts gate passes on every run date of the real year and stops every kind of bad mart.

Bad marts are built from the real year's frames (what the gate reads from the warehouse) with
one thing broken, and go through the gate's own validation function.
"""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from couponflow.app.gates import check_marts, enforce
from couponflow.platform.gate_results import GateFailed
from couponflow.platform.storage import LocalStore
from expectations.marts_gate import marts_frames, validate_marts

D = date(2017, 10, 30)  # campaign 18 (Type A) starts


def test_the_marts_gate_passes_on_every_run_date_of_the_real_year(landed_year, source):
    run_dates = [d + timedelta(days=1) for d in source.days()]  # 2017-01-02 .. 2018-01-02
    run = check_marts(landed_year["res"], run_dates)
    assert [r.table for r in run.results] == [
        "scoring_candidates",
        "candidate_counts",
        "household_features",
        "training_examples",
    ]
    for r in run.results:
        assert r.status == "pass", r.one_line()
        assert r.partition == "2017-01-02..2018-01-02"
    counts = run.frames["candidate_counts"]
    assert len(counts) == 24 and counts["candidates"].min() > 2000  # the 24 campaigns starting in 2017
    assert run.frames["scoring_candidates"]["run_date"].nunique() == 22


@pytest.fixture(scope="module")
def frames(landed_year):
    return marts_frames(landed_year["res"].warehouse.query, [D])


def _first(df: pd.DataFrame, n: int = 1) -> pd.Index:
    return df.index[:n]


def _leak_a_basket(f):
    c = f["scoring_candidates"]
    c.loc[_first(c, 3), "baskets_all"] += 1  # a basket dated on the run date was counted


def _age_zero(f):
    c = f["scoring_candidates"]
    c.loc[_first(c), "days_since_last_purchase"] = 0


def _household_from_the_future(f):
    c = f["scoring_candidates"]
    c.loc[_first(c), ["baskets_before", "days_since_last_basket"]] = np.nan


def _training_leak(f):
    h = f["household_features"]
    h.loc[h.index[-5:], "days_since_last_purchase"] -= 1


def _share_above_one(f):
    f["scoring_candidates"].loc[_first(f["scoring_candidates"]), "private_label_share"] = 1.7


def _nulls_jump(f):
    c = f["scoring_candidates"]
    c.loc[c.index[: len(c) // 2], "avg_basket_value_90d"] = np.nan


def _demographics_gone(f):
    f["scoring_candidates"]["age"] = None


def _duplicate_candidates(f):
    c = f["scoring_candidates"]
    f["scoring_candidates"] = pd.concat([c, c.iloc[:2]], ignore_index=True)


def _missing_candidates(f):
    f["candidate_counts"].loc[:, "candidates"] -= 40


def _no_candidates(f):
    f["candidate_counts"].loc[:, "candidates"] = 0


def _label_rate_out_of_band(f):
    f["training_examples"].loc[_first(f["training_examples"]), ["label_rate", "final_label_rate"]] = 0.93


def _all_labels_zero(f):
    f["training_examples"]["final_label_rate"] = 0.0


BAD = {
    # name: (mutation, table, column, severity)
    "leak: a basket of the run date counted": (
        _leak_a_basket,
        "scoring_candidates",
        "baskets_all,baskets_before",
        "critical",
    ),
    "leak: days since the last purchase is 0": (
        _age_zero,
        "scoring_candidates",
        "days_since_last_purchase",
        "critical",
    ),
    "a household with features from the future": (
        _household_from_the_future,
        "scoring_candidates",
        "baskets_before",
        "critical",
    ),
    "leak in the training features": (
        _training_leak,
        "household_features",
        "days_since_last_purchase,days_since_last_basket",
        "critical",
    ),
    "share above 1": (_share_above_one, "scoring_candidates", "private_label_share", "critical"),
    "null rate jumps": (_nulls_jump, "scoring_candidates", "avg_basket_value_90d", "critical"),
    "demographics gone (soft)": (_demographics_gone, "scoring_candidates", "age", "warning"),
    "duplicate candidates": (
        _duplicate_candidates,
        "scoring_candidates",
        "run_date,household_id,campaign_id",
        "critical",
    ),
    "candidates missing": (_missing_candidates, "candidate_counts", "candidates,households_with_history", "critical"),
    "a starting campaign without candidates": (_no_candidates, "candidate_counts", "candidates", "critical"),
    "label rate out of band": (_label_rate_out_of_band, "training_examples", "label_rate", "critical"),
    "every label 0": (_all_labels_zero, "training_examples", "final_label_rate", "critical"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_mart_fails_with_a_clear_reason(frames, case):
    mutate, table, column, severity = BAD[case]
    bad = {k: v.copy() for k, v in frames.items()}
    mutate(bad)
    (result,) = validate_marts(bad, [D], tables=[table]).results
    problems = [c for c in result.checks if not c.success]
    assert any(c.column == column and c.severity == severity for c in problems), problems
    if severity == "warning":
        assert result.success and "801 of 2,469" in result.warnings[0].reason
    else:
        line = result.one_line()
        assert f"marts gate FAILED on {table}." in line and "date=2017-10-30" in line and "Fix:" in line


def test_the_failure_names_the_run_date_and_the_rows(frames):
    bad = {k: v.copy() for k, v in frames.items()}
    _age_zero(bad)
    run = validate_marts(bad, [D], tables=["scoring_candidates"])
    (fail,) = [c for c in run.results[0].failures if c.check == "expect_column_values_to_be_between"]
    assert "run_date=2017-10-30" in fail.detail and "1 unexpected values" in fail.detail


def test_a_failing_marts_gate_is_quarantined_and_stops(frames, tmp_path):
    store = LocalStore(tmp_path / "lake")
    bad = {k: v.copy() for k, v in frames.items()}
    _leak_a_basket(bad)
    with pytest.raises(GateFailed) as exc:
        enforce(store, validate_marts(bad, [D]), D)
    assert exc.value.gate == "marts" and len(exc.value.all_results) == 4
    assert "\n" not in str(exc.value) and "scoring_candidates" in str(exc.value)
    prefix = "quarantine/marts/date=2017-10-30/scoring_candidates"
    assert store.list(prefix + "/") == [f"{prefix}/scoring_candidates.parquet", f"{prefix}/validation.json"]
    kept = pd.read_parquet(io.BytesIO(store.get(f"{prefix}/scoring_candidates.parquet")))
    assert len(kept) == len(bad["scoring_candidates"])
    assert json.loads(store.get(f"{prefix}/validation.json"))["success"] is False


def test_the_gate_reads_only_the_as_of_dates_after_the_last_gated_run(landed_year, source, tmp_path):
    """A run whose marts gate passed (its gate record in the lake) covers every as-of date through
    its run date: the next run checks the household features of the new dates only, and a bad row
    of a new date still stops it."""
    from couponflow.app.gates import marts_gated_through
    from couponflow.app.report.writer import publish_gate_record
    from tests.helpers import resources

    store = LocalStore(tmp_path / "lake")
    res = resources(landed_year["settings"], store, source)
    earlier = date(2017, 10, 18)  # campaign 17 starts
    assert marts_gated_through(store, D) is None

    def as_of_dates(run) -> list[date]:
        return sorted(pd.to_datetime(run.frames["household_features"]["as_of_date"]).dt.date.unique())

    first = check_marts(res, [earlier])
    assert len(as_of_dates(first)) == 17 and as_of_dates(first)[-1] == earlier  # a fresh lake: every date
    publish_gate_record(store, earlier, {"marts": first.results})
    assert marts_gated_through(store, D) == earlier
    assert marts_gated_through(store, earlier) is None  # only records before the run date count

    run = check_marts(res, [D])
    assert as_of_dates(run) == [D]
    assert all(r.status == "pass" for r in run.results)
    bad = {k: v.copy() for k, v in run.frames.items()}
    _training_leak(bad)
    (result,) = validate_marts(bad, [D], tables=["household_features"]).results
    assert not result.success and "date=2017-10-30" in result.one_line()
