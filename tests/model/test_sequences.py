"""Weekly sequences and the GRU family: point in time (data dated S or later never moves the
sequences of S, data before S does), weeks counted like the dbt macros, and a GRU that trains,
reads its weeks and round-trips through the registry."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from couponflow.platform.storage import LocalStore
from models.history import History
from models.registry import Registry
from models.sequences import COLUMNS, STEP_FEATURES, WEEKS, sequences_as_of, with_sequences
from models.training import TrainConfig, train
from tests.model.synthetic import make_examples, make_history

S = pd.Timestamp("2017-03-01")


@pytest.fixture(scope="module")
def history() -> History:
    return make_history(days=120)


def _pairs() -> pd.DataFrame:
    return pd.DataFrame({"household_id": [1, 5, 30, 500], "campaign_id": 1, "as_of_date": S})


def _with(history: History, days: pd.DataFrame) -> History:
    return History(days, history.campaign_categories)


def test_data_dated_s_or_later_never_moves_the_sequences_of_s(history):
    base = sequences_as_of(_pairs(), history, S)
    later = history.days["transaction_date"] >= S
    assert later.sum() > 100
    days = history.days.copy()
    days.loc[later, "spend"] *= 7
    days.loc[later, "coupon_lines"] += 3
    days = pd.concat(
        [days, history.days.iloc[:5].assign(transaction_date=S, household_id=[1, 5, 30, 500, 501])],
        ignore_index=True,
    )
    moved = _with(history, days.sample(frac=1.0, random_state=3))
    pd.testing.assert_frame_equal(sequences_as_of(_pairs(), moved, S), base)


def test_data_before_s_moves_them_in_the_right_week(history):
    base = sequences_as_of(_pairs(), history, S)
    h1 = history.days["household_id"] == 1
    ages = (S - history.days["transaction_date"]).dt.days
    target = h1 & (ages >= 8) & (ages <= 14)  # household 1's second week before S
    assert target.any()
    days = history.days.copy()
    days.loc[target, "spend"] += 100.0
    moved = sequences_as_of(_pairs(), _with(history, days), S)
    diff = (moved != base).any(axis=0)
    assert set(diff[diff].index) <= {c for c in COLUMNS if c.startswith("seq_w02_")}
    assert moved.loc[0, "seq_w02_log_spend"] > base.loc[0, "seq_w02_log_spend"]
    assert (moved.iloc[1:] == base.iloc[1:]).all().all()  # other households untouched


def test_a_week_holds_its_seven_days_and_nothing_older_than_the_window(history):
    seq = sequences_as_of(_pairs(), history, S)
    d = history.days
    one = d[(d["household_id"] == 1) & (d["transaction_date"] < S)]
    age = (S - one["transaction_date"]).dt.days
    for week in (1, 2, 5):
        w = one[(age > 7 * (week - 1)) & (age <= 7 * week)]
        assert seq.loc[0, f"seq_w{week:02d}_log_spend"] == pytest.approx(np.log1p(w["spend"].sum()))
        assert seq.loc[0, f"seq_w{week:02d}_shopping_days"] == w["transaction_date"].nunique()
    assert seq.loc[0, [f"seq_w01_{f}" for f in STEP_FEATURES if f.startswith("share_")]].sum() == pytest.approx(1.0)
    assert (seq.loc[3] == 0).all()  # a household with no history: all zeros
    assert len(seq.columns) == WEEKS * len(STEP_FEATURES)


def test_with_sequences_cuts_every_row_at_its_own_as_of_date(history):
    early = S - pd.Timedelta(days=30)
    ex = pd.concat([_pairs().assign(as_of_date=early), _pairs()], ignore_index=True)
    out = with_sequences(ex, history)
    pd.testing.assert_frame_equal(
        out.loc[:3, list(COLUMNS)], sequences_as_of(_pairs(), history, early), check_index_type=False
    )


def test_the_gru_trains_on_its_weeks_and_round_trips_through_the_registry(tmp_path):
    """Labels that depend only on the last week's spend: the GRU must read the sequence."""
    ex = make_examples(n_campaigns=4, per_campaign=300, seed=4)
    rng = np.random.default_rng(0)
    seq = pd.DataFrame(rng.random((len(ex), len(COLUMNS))), columns=list(COLUMNS), index=ex.index)
    ex = pd.concat([ex, seq], axis=1)
    logit = -1.5 + 8.0 * (ex["seq_w01_log_spend"].to_numpy() - 0.5)
    ex["label"] = (rng.random(len(ex)) < 1 / (1 + np.exp(-logit))).astype(int)
    config = replace(TrainConfig(), family="gru", n_members=1, max_epochs=15, patience=4, batch_size=512)
    model = train(ex, config)
    assert type(model.networks[0]).__name__ == "GRUNet"
    p = model.predict(ex)
    assert np.corrcoef(p, logit)[0, 1] > 0.7
    # the MLP gets no sequence columns: it cannot find this signal
    mlp = train(ex, replace(config, family="mlp"))
    assert "seq_w01_log_spend" not in mlp.features and np.corrcoef(mlp.predict(ex), logit)[0, 1] < 0.3
    with pytest.raises(ValueError, match="seq_w01"):
        model.predict(ex.drop(columns=["seq_w01_log_spend"]))
    registry = Registry(LocalStore(tmp_path))
    loaded = registry.load(registry.register(model, {"note": "gru"}))
    np.testing.assert_array_equal(loaded.predict(ex), p)
