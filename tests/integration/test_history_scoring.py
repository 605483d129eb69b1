"""A champion whose features need the households' history (weekly sequences, affinity) on the
real year: the promotion rule accepts it when it beats the champion and refuses it otherwise, a
daily run scores the day's candidates with its features built as of the run date and publishes,
and nothing dated on or after the run date moves a score.

One small GRU with the affinity features (one member, a few epochs: test-sized, the family and
the features are the default's of ``couponflow train --family gru --affinity``) is trained once
for the module through the train flow's own steps on the landed year.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from couponflow.app.decision_inputs import load_candidates
from couponflow.app.history_inputs import (
    history_columns,
    load_history,
    load_scorer,
    scoring_columns,
    with_history_as_of,
    with_history_features,
)
from couponflow.app.publishing import published_decisions
from couponflow.platform.config import load_settings
from couponflow.platform.storage import LocalStore
from couponflow.platform.warehouse import Warehouse
from models.affinity import features_as_of
from models.promotion import PromotionRule, sanity_problems
from models.registry import V0, Registry
from models.training import TrainConfig

RUN_DATE = date(2017, 12, 28)  # campaign 23 starts; the year's data runs to 2018-01-01
SMALL = TrainConfig(family="gru", affinity=True, n_members=1, max_epochs=6, patience=3)
AREAS = ("registry/", "campaigns/", "decisions/", "reports/", "replay/")


def _clean(store: LocalStore) -> None:
    for area in AREAS:  # leave the shared year as it was
        for key in store.list(area):
            store.delete(key)


@pytest.fixture(scope="module")
def gru(landed_year):
    """The GRU + affinity challenger trained and compared against v0 by the train flow's steps."""
    from flows.train import challenge, load_examples

    res = landed_year["res"]
    store = LocalStore(res.settings.lake_dir)
    _clean(store)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COUPONFLOW_HOME", str(res.settings.home_dir))
        mp.setenv("COUPONFLOW_STORAGE", "local")
        examples, columns = load_examples.fn(res, SMALL)
        outcome = challenge(res, examples, columns, SMALL)
        yield {"res": res, "store": store, "outcome": outcome, "examples": examples, "columns": columns}
    _clean(store)


def test_the_rule_promotes_a_history_challenger_that_wins_and_keeps_one_that_does_not(gru):
    res, outcome, registry = gru["res"], gru["outcome"], Registry(gru["store"])
    # today's marts hold every feature it needs: the history's through the history marts
    assert set(history_columns(SMALL)) <= gru["columns"]
    assert outcome.promoted and registry.champion() == outcome.version, outcome.reason
    assert registry.decisions()[-1]["champion"] == V0
    # the same challenger again, against itself as champion (the champion is scored with its own
    # history features on the hold-out): no gain, kept out
    again = _challenge(res, SMALL)
    assert not again.promoted and "below the margin" in again.reason, again.reason
    assert again.decision["auc_gain"]["mean"] == pytest.approx(0.0, abs=1e-12)
    assert registry.champion() == outcome.version


def _challenge(res, config):
    from flows.train import challenge, load_examples

    examples, columns = load_examples.fn(res, config)
    return challenge(res, examples, columns, config)


def test_a_warehouse_without_the_history_marts_refuses_the_challenger(gru, tmp_path):
    wh = _warehouse_copy(gru["res"], tmp_path)
    with wh.session() as con:
        con.execute("drop table marts.campaign_categories")
    columns = scoring_columns(wh, SMALL)
    assert not set(history_columns(SMALL)) & columns
    model = Registry(gru["store"]).load(gru["outcome"].version)
    problems = sanity_problems(np.array([0.1, 0.2]), np.array([0, 1]), PromotionRule(), model.features, columns)
    assert any("features missing from today's marts" in p and "emb_affinity_score" in p for p in problems)


@pytest.mark.usefixtures("prefect_harness")
def test_a_daily_run_scores_with_the_history_champion_as_training_would_and_publishes(gru, monkeypatch):
    from flows.daily import daily

    res, store, version = gru["res"], gru["store"], gru["outcome"].version
    monkeypatch.setenv("COUPONFLOW_HOME", str(res.settings.home_dir))
    monkeypatch.setenv("COUPONFLOW_STORAGE", "local")
    out = daily(run_date=RUN_DATE, force=True)
    assert out["model_version"] == version and out["sends"] > 0
    log, meta = published_decisions(store, RUN_DATE)
    assert meta["model"]["version"] == version

    # independently: the candidates as training examples as of the run date, with the history
    # features built the training way (the whole history read, cut at each row's date)
    model = Registry(store).load(version)
    wh = res.warehouse
    with wh.session():
        cands = load_candidates(wh, RUN_DATE)
        rows = with_history_features(wh, cands.assign(as_of_date=pd.Timestamp(RUN_DATE)), model.config)
    expected = pd.Series(model.predict(rows), index=pd.MultiIndex.from_frame(cands[["household_id", "campaign_id"]]))
    got = log.set_index(["household_id", "campaign_id"])["score"]
    assert len(got) == len(expected) > 1000
    np.testing.assert_array_equal(got.sort_index().to_numpy(), expected.sort_index().to_numpy())
    assert rows["emb_affinity_score"].notna().mean() > 0.9 and (rows["seq_w01_log_spend"] > 0).mean() > 0.3


def _warehouse_copy(res, tmp_path) -> Warehouse:
    settings = load_settings(home=tmp_path / "home")
    settings.home_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(res.settings.warehouse_path, settings.warehouse_path)
    return Warehouse(settings)


def test_history_on_or_after_the_run_date_moves_no_score(gru, tmp_path):
    """On a copy of the year's warehouse: history rows dated the run date or later are changed and
    new ones added (on the campaign's own categories, for the candidates themselves), and no score
    moves; a change the day before moves them (the test can see a change)."""
    wh = _warehouse_copy(gru["res"], tmp_path)
    scorer = load_scorer(wh, Registry(gru["store"]), gru["outcome"].version, prior_strength=1.0)
    with wh.session():
        cands = load_candidates(wh, RUN_DATE)
    before = scorer.predict(cands)

    households = ", ".join(str(h) for h in sorted(cands["household_id"].unique())[:300])
    with wh.session() as con:
        con.execute(
            "update marts.household_category_days set spend = spend * 7 + 50, coupon_lines = coupon_lines + 3 "
            "where transaction_date >= ?",
            [RUN_DATE],
        )
        con.execute(
            f"""
            insert into marts.household_category_days
            select h.household_id, d.day, c.product_category, 'GROCERY', 500.0, 9, 4
            from (select unnest([{households}]) as household_id) h,
                 (select distinct product_category from marts.campaign_categories where campaign_id = 23) c,
                 (select unnest([?::date, ?::date + 1, ?::date + 3]) as day) d
            """,
            [RUN_DATE, RUN_DATE, RUN_DATE],
        )
    np.testing.assert_array_equal(scorer.predict(cands), before)

    with wh.session() as con:  # the day before the run date is the past: it counts
        con.execute(
            "update marts.household_category_days set spend = spend * 7 + 50 where transaction_date = ?",
            [RUN_DATE - timedelta(days=1)],
        )
    moved = scorer.predict(cands) != before
    assert moved.mean() > 0.05


def test_scoring_builds_the_affinity_with_the_factors_its_version_was_trained_with(gru, tmp_path):
    """The version stores affinity_k (models.training.TrainConfig); a registry round trip keeps it,
    and the scoring features are built with it, not with today's default."""
    res = gru["res"]
    registry = Registry(LocalStore(tmp_path / "lake"))
    model = Registry(gru["store"]).load(gru["outcome"].version)
    few = replace(model, config=replace(model.config, affinity_k=3))
    loaded = registry.load(registry.register(few, {"code_version": "test"}))
    assert loaded.config.affinity_k == 3 and loaded.config == few.config
    assert TrainConfig.from_dict({k: v for k, v in few.spec()["config"].items() if k != "affinity_k"}).affinity_k == 16
    wh = res.warehouse
    with wh.session():
        cands = load_candidates(wh, RUN_DATE).head(200)
        built = with_history_as_of(wh, cands, loaded.config)
        history = load_history(wh)
    k3 = features_as_of(cands, history, RUN_DATE, k=3)
    k16 = features_as_of(cands, history, RUN_DATE, k=16)
    np.testing.assert_array_equal(built["emb_affinity_score"].to_numpy(), k3["emb_affinity_score"].to_numpy())
    assert not np.allclose(k3["emb_affinity_score"], k16["emb_affinity_score"], equal_nan=True)
