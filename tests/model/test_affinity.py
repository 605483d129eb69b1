"""Affinity embeddings: point in time (data dated S or later never moves the features of S, data
before S does), deterministic, and they find who buys like whom."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.affinity import features_as_of, fit_factors, spend_matrix, with_affinity
from models.history import History
from tests.model.synthetic import make_history

S = pd.Timestamp("2017-02-15")


@pytest.fixture(scope="module")
def history() -> History:
    return make_history()


def _pairs(n: int = 40) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "household_id": np.tile(np.arange(1, n + 1), 2),
            "campaign_id": np.repeat([1, 2], n),
            "as_of_date": S,
        }
    )


def _changed(history: History, rows: pd.Series, **changes) -> History:
    days = history.days.copy()
    for col, f in changes.items():
        days.loc[rows, col] = f(days.loc[rows, col])
    return History(days, history.campaign_categories)


def test_data_dated_s_or_later_never_moves_the_features_of_s(history):
    pairs = _pairs()
    base = features_as_of(pairs, history, S)
    later = history.days["transaction_date"] >= S
    assert later.sum() > 100 and base.notna().all().all()
    # every later amount changed, later rows of a new household and a new category, and the
    # later rows of a third of the households deleted
    changed = _changed(history, later, spend=lambda s: s * 10 + 1)
    extra = pd.DataFrame(
        {
            "household_id": [99, 7],
            "transaction_date": [S, S + pd.Timedelta(days=3)],
            "product_category": ["Z", "A"],
            "department_group": "GROCERY",
            "spend": [500.0, 80.0],
            "lines": 1,
            "coupon_lines": 1,
        }
    )
    days = pd.concat([changed.days, extra], ignore_index=True)
    days = days[~(later.reindex(days.index, fill_value=True) & (days["household_id"] % 3 == 0))]
    moved = History(days.sample(frac=1.0, random_state=1), history.campaign_categories)  # row order shuffled too
    pd.testing.assert_frame_equal(features_as_of(pairs, moved, S), base)


def test_data_before_s_moves_them(history):
    pairs = _pairs()
    base = features_as_of(pairs, history, S)
    day_before = history.days["transaction_date"] == S - pd.Timedelta(days=1)
    assert day_before.any()
    moved = features_as_of(pairs, _changed(history, day_before, spend=lambda s: s * 10 + 1), S)
    assert not np.allclose(moved.to_numpy(), base.to_numpy())


def test_the_factorisation_is_deterministic_and_matches_a_full_svd(history):
    a, b = fit_factors(history, S), fit_factors(make_history(), S)
    assert np.array_equal(a.household_vectors, b.household_vectors) and np.array_equal(a.categories, b.categories)
    _, _, x = spend_matrix(history, S)
    s = np.linalg.svd(x, compute_uv=False)
    np.testing.assert_allclose(a.singular_values, s[: len(a.singular_values)], rtol=1e-10)
    # the household vectors are U S: they reconstruct X with every factor kept
    np.testing.assert_allclose(a.household_vectors @ a.category_vectors.T, x, atol=1e-10)


def test_households_are_close_to_the_campaigns_of_what_they_and_their_like_buy(history):
    f = features_as_of(_pairs(), history, S)
    first = (_pairs()["household_id"] <= 20).to_numpy()
    on_a = (_pairs()["campaign_id"] == 1).to_numpy()
    cos = f["emb_affinity_cosine"].to_numpy()
    assert cos[first & on_a].min() > cos[~first & on_a].max()  # A buyers closest to the A campaign
    assert cos[~first & ~on_a].min() > cos[first & ~on_a].max()  # C buyers to the C campaign


def test_a_household_without_history_before_s_or_an_unknown_campaign_has_no_affinity(history):
    pairs = pd.DataFrame({"household_id": [1, 500, 1], "campaign_id": [1, 1, 42], "as_of_date": S})
    f = features_as_of(pairs, history, S)
    assert f.iloc[0].notna().all() and f.iloc[1:].isna().all().all()


def test_with_affinity_cuts_every_row_at_its_own_as_of_date(history):
    early, late = S - pd.Timedelta(days=20), S
    examples = pd.concat([_pairs().assign(as_of_date=early), _pairs().assign(as_of_date=late)], ignore_index=True)
    out = with_affinity(examples, history)
    pd.testing.assert_frame_equal(
        out.loc[examples["as_of_date"] == early, ["emb_affinity_score", "emb_affinity_cosine"]].reset_index(drop=True),
        features_as_of(_pairs(), history, early),
    )
    between = (history.days["transaction_date"] >= early) & (history.days["transaction_date"] < late)
    again = with_affinity(examples, _changed(history, between, spend=lambda s: s * 5))
    is_early = (examples["as_of_date"] == early).to_numpy()
    pd.testing.assert_frame_equal(out[is_early], again[is_early])
    assert not out[~is_early].equals(again[~is_early])


def test_a_model_with_affinity_uses_the_features_and_refuses_rows_without_them():
    from dataclasses import replace

    from models.training import TrainConfig, train
    from tests.model.synthetic import make_examples

    ex = make_examples(n_campaigns=4, per_campaign=300, seed=2)
    config = replace(TrainConfig(), max_epochs=5, patience=2, n_members=1, affinity=True)
    with pytest.raises(ValueError, match="emb_affinity_score"):
        train(ex, config)
    rng = np.random.default_rng(0)
    model = train(ex.assign(emb_affinity_score=rng.random(len(ex)), emb_affinity_cosine=rng.random(len(ex))), config)
    assert {"emb_affinity_score", "emb_affinity_cosine"} <= set(model.features)
    assert TrainConfig.from_dict({**model.spec()["config"]}).affinity is True


def test_the_history_mart_holds_every_line_once_and_the_features_join_on_the_year(landed_year):
    """household_category_days on the real year: per household and day, the spend and lines of
    the baskets mart (no line lost or doubled by the product join); the history features join
    every training example, each as of its own start."""
    from couponflow.app.decision_inputs import load_training_examples
    from couponflow.app.history_inputs import needs_history, with_history_features
    from models.sequences import COLUMNS
    from models.training import TrainConfig

    wh = landed_year["res"].warehouse
    with wh.session():
        mismatched = wh.query(
            """
            with h as (select household_id, transaction_date as d, sum(spend) as spend, sum(lines) as lines
                       from marts.household_category_days group by 1, 2),
                 b as (select household_id, basket_date as d, sum(sales_value)::double as spend,
                              sum(n_lines) as lines from marts.baskets group by 1, 2)
            select count(*) as n from h full join b using (household_id, d)
            where h.lines is distinct from b.lines or abs(coalesce(h.spend, -1) - coalesce(b.spend, -2)) > 1e-6
            """
        )
        examples = load_training_examples(wh).head(400)
        assert with_history_features(wh, examples, TrainConfig()) is examples  # nothing read, nothing added
        config = TrainConfig(family="gru", affinity=True)
        assert needs_history(config)
        out = with_history_features(wh, examples, config)
    assert int(mismatched["n"].iloc[0]) == 0
    assert out[["emb_affinity_score", "emb_affinity_cosine"]].notna().mean().min() > 0.9
    assert set(COLUMNS) <= set(out.columns) and len(out) == len(examples)
