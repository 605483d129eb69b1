"""The redemption model: deterministic, preprocessing on train rows only, an honest registry,
promotion only when a challenger is better and sane, a backtest blind to what followed its cut."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest
import torch

from couponflow.platform.storage import LocalStore
from models.backtest import scored_rows, training_rows
from models.drift import SCORE, Profile, psi_frame
from models.features import NUMERIC_FEATURES
from models.lifecycle import train_challenger, training_window
from models.promotion import PromotionRule, decide, select_holdout
from models.registry import V0, Registry, RegistryError
from models.training import TrainConfig, time_ordered_split, train
from tests.model.synthetic import make_examples, true_probability

FAST = TrainConfig(
    max_epochs=40, patience=8, n_members=1
)  # one network keeps these quick; ensemble tests set n_members


@pytest.fixture(scope="module")
def examples() -> pd.DataFrame:
    return make_examples()


def test_training_is_deterministic_given_a_seed(examples):
    a = train(examples, FAST).predict(examples)
    b = train(examples, FAST).predict(examples)
    assert np.array_equal(a, b)
    c = train(examples, replace(FAST, seed=1)).predict(examples)
    assert not np.array_equal(a, c)


def test_a_seed_ensemble_is_deterministic_and_its_members_are_the_single_seed_networks(examples):
    ensemble = train(examples, replace(FAST, n_members=3, seed=4))
    again = train(examples, replace(FAST, n_members=3, seed=4))
    assert np.array_equal(ensemble.predict(examples), again.predict(examples))
    assert [m["seed"] for m in ensemble.info["members"]] == [4, 5, 6]
    # member i is exactly the network a single training with seed 4 + i gives; the ensemble
    # scores with their mean logit
    singles = [train(examples, replace(FAST, seed=s)) for s in (4, 5, 6)]
    for net, single in zip(ensemble.networks, singles):
        for a, b in zip(net.state_dict().values(), single.networks[0].state_dict().values()):
            assert torch.equal(a, b)
    np.testing.assert_allclose(
        ensemble.logits(examples), np.mean([m.logits(examples) for m in singles], axis=0), rtol=1e-12, atol=1e-12
    )
    assert not np.array_equal(ensemble.predict(examples), singles[0].predict(examples))


def test_the_blend_trains_a_logistic_and_an_mlp_per_seed(examples):
    blend = train(examples, replace(FAST, family="blend", n_members=2))
    assert [(m["family"], m["seed"]) for m in blend.info["members"]] == [
        ("logistic", 0),
        ("mlp", 0),
        ("logistic", 1),
        ("mlp", 1),
    ]
    assert [type(n).__name__ for n in blend.networks] == ["Logistic", "MLP", "Logistic", "MLP"]


def test_unknown_family_or_empty_ensemble_is_refused():
    with pytest.raises(ValueError, match="unknown model family"):
        TrainConfig(family="gbm")
    with pytest.raises(ValueError, match="n_members"):
        TrainConfig(n_members=0)


@pytest.mark.parametrize("family", ["logistic", "mlp", "wide_deep", "blend"])
def test_every_family_learns_the_known_signal(examples, family):
    model = train(examples, replace(FAST, family=family))
    p = model.predict(examples)
    assert ((p > 0) & (p < 1)).all()
    assert np.corrcoef(p, true_probability(examples))[0, 1] > 0.8


def test_preprocessing_is_fitted_on_training_rows_only(examples):
    model = train(examples, FAST)
    fit_rows, valid_rows = time_ordered_split(examples, FAST.validation_share)
    assert model.preprocessor.median["aff_spend_all"] == pytest.approx(fit_rows["aff_spend_all"].median())
    assert "days_since_last_redemption" in model.preprocessor.missing_flag
    # moving every validation value changes nothing that was fitted
    shifted = examples.copy()
    shifted.loc[valid_rows.index, "aff_spend_all"] += 100.0
    assert train(shifted, FAST).preprocessor.to_dict() == model.preprocessor.to_dict()


def test_censored_labels_are_refused(examples):
    bad = examples.assign(label_is_final=examples.index % 7 != 0)
    with pytest.raises(ValueError, match="censored"):
        train(bad, FAST)


# -- the promotion rule on scores whose truth is known -----------------------------------------


@pytest.fixture(scope="module")
def holdout() -> pd.DataFrame:
    df = make_examples(n_campaigns=1, per_campaign=1500, seed=11)
    df["p_true"] = true_probability(df)
    return df


def _decide(h: pd.DataFrame, champion: np.ndarray, challenger: np.ndarray):
    return decide(
        h["label"].to_numpy(),
        h["campaign_id"].to_numpy(),
        h["household_id"].to_numpy(),
        champion,
        challenger,
        PromotionRule(),
        features=["aff_spend_all"],
        mart_columns={"aff_spend_all"},
    )


def test_a_better_challenger_is_promoted(holdout):
    rng = np.random.default_rng(0)
    weak = np.clip(holdout["p_true"] + rng.normal(0, 0.25, len(holdout)), 0.01, 0.99)
    d = _decide(holdout, weak, holdout["p_true"].to_numpy())
    assert d.promote and d.auc_gain["low"] > 0, d.reason


def test_a_worse_or_equal_challenger_is_not_promoted(holdout):
    rng = np.random.default_rng(0)
    weak = np.clip(holdout["p_true"] + rng.normal(0, 0.25, len(holdout)), 0.01, 0.99)
    worse = _decide(holdout, holdout["p_true"].to_numpy(), weak)
    assert not worse.promote and "below the margin" in worse.reason
    same = _decide(holdout, holdout["p_true"].to_numpy(), holdout["p_true"].to_numpy() * 1.0001)
    assert not same.promote


@pytest.mark.parametrize(
    "broken,problem",
    [
        (lambda p: np.where(np.arange(len(p)) == 3, np.nan, p), "NaN"),
        (lambda p: np.full(len(p), 0.2), "constant"),
        (lambda p: np.clip(p * 4, 0, 1), "calibration off"),
    ],
)
def test_a_broken_challenger_is_never_promoted(holdout, broken, problem):
    weak = np.full(len(holdout), 0.15) + np.linspace(0, 0.01, len(holdout))
    d = _decide(holdout, weak, broken(holdout["p_true"].to_numpy()))
    assert not d.promote and problem in d.reason


def test_a_challenger_needing_columns_the_marts_lack_is_not_sane(holdout):
    d = decide(
        holdout["label"].to_numpy(),
        holdout["campaign_id"].to_numpy(),
        holdout["household_id"].to_numpy(),
        np.full(len(holdout), 0.2),
        holdout["p_true"].to_numpy(),
        PromotionRule(),
        features=["aff_spend_all", "gone_column"],
        mart_columns={"aff_spend_all"},
    )
    assert not d.promote and "gone_column" in d.reason


# -- registry and the champion/challenger cycle -----------------------------------------------


def test_champion_challenger_cycle_with_registry_and_rollback(tmp_path):
    examples = make_examples(n_campaigns=8, per_campaign=700, seed=3)
    registry = Registry(LocalStore(tmp_path))
    kwargs = dict(
        min_holdout_positives=150, prior_strength=5.0, mart_columns=set(examples.columns), code_version="test"
    )
    assert registry.champion() == V0
    first = train_challenger(examples, registry, FAST, PromotionRule(), **kwargs)
    assert first.promoted and registry.champion() == first.version == "v1", first.reason
    # the same recipe again is no better than the champion it equals: kept out, with a reason
    second = train_challenger(examples, registry, FAST, PromotionRule(), **kwargs)
    assert not second.promoted and second.version == "v2" and registry.champion() == "v1"
    log = registry.decisions()
    assert [d["action"] for d in log] == ["promote", "keep"] and all(d["reason"] for d in log)

    # each version stores its training rows' drift profile (features and score) beside it
    window = training_window(examples, select_holdout(examples, 150))
    profile = Profile.from_dict(registry.profile("v1"))
    assert profile.rows == len(window) and set(profile.features) == {*NUMERIC_FEATURES, SCORE}
    assert psi_frame(window, profile, score=registry.load("v1").predict(window)) == dict.fromkeys(profile.features, 0.0)
    assert registry.profile(V0) is None  # the rule's window is the marts', as of each run date

    card = registry.card("v1")
    assert card["card"]["holdout_campaigns"] == select_holdout(examples, 150)
    assert card["info"]["train_window"] and card["card"]["code_version"] == "test"
    assert "aff_spend_all" in card["preprocessor"]["numeric"]
    # immutable: v1's bytes do not change when v2 is registered, and a version is never rewritten
    store = registry.store
    v1_bytes = {k: store.get(k) for k in store.list("registry/versions/v1/")}
    registry.register(registry.load("v1"), {"note": "copy"})
    assert {k: store.get(k) for k in store.list("registry/versions/v1/")} == v1_bytes
    assert registry.versions() == ["v1", "v2", "v3"]
    np.testing.assert_array_equal(registry.load("v1").predict(examples), registry.load("v1").predict(examples))

    registry.rollback(V0)
    assert registry.champion() == V0 and registry.decisions()[-1]["action"] == "rollback"
    with pytest.raises(RegistryError, match="not in the registry"):
        registry.rollback("v42")
    with pytest.raises(RegistryError, match="versions look like"):
        registry.rollback("latest")


def test_an_ensemble_round_trips_through_the_registry_with_identical_scores(tmp_path, examples):
    registry = Registry(LocalStore(tmp_path))
    for config in (replace(FAST, n_members=3), replace(FAST, family="blend", n_members=2)):
        model = train(examples, config)
        version = registry.register(model, {"note": "round trip"})
        loaded = registry.load(version)
        assert loaded.config == config and len(loaded.networks) == len(config.members())
        np.testing.assert_array_equal(loaded.predict(examples), model.predict(examples))
        assert registry.card(version)["members"] == [{"family": f, "seed": s} for f, s in config.members()]


def test_a_version_written_before_ensembles_still_loads(tmp_path, examples):
    """Registry versions are immutable: one written by the single-network code (a bare state dict
    in weights.pt, no n_members in its configuration) must keep scoring the same."""
    from couponflow.platform import manifest

    model = train(examples, FAST)
    spec = model.spec()
    del spec["members"], spec["weights_format"], spec["config"]["n_members"]
    buf = io.BytesIO()
    torch.save(model.networks[0].state_dict(), buf)
    store = LocalStore(tmp_path)
    manifest.publish(
        store,
        "registry/versions/v1",
        {"weights.pt": buf.getvalue(), "model.json": manifest.to_json_bytes({**spec, "version": "v1"})},
        {"kind": "model", "version": "v1", "family": "mlp"},
    )
    old = Registry(store).load("v1")
    assert (
        old.config.n_members == 1
        and "n_members"
        not in json.loads(store.get(next(k for k in store.list("registry/versions/v1/") if k.endswith("model.json"))))[
            "config"
        ]
    )
    np.testing.assert_array_equal(old.predict(examples), model.predict(examples))
    assert Registry(store).profile("v1") is None  # written before profiles were stored


def test_weights_that_do_not_match_the_configuration_are_refused(examples):
    model = train(examples, replace(FAST, n_members=2))
    spec = model.spec()
    spec["config"]["n_members"] = 3
    with pytest.raises(ValueError, match="weights hold 2 networks, the configuration 3"):
        type(model).load(spec, model.weights_bytes())


# -- the backtest sees nothing after its cut (real data) --------------------------------------


def test_backtest_training_set_and_model_ignore_everything_after_the_cut(landed_year):
    from couponflow.platform.warehouse import query_df

    cut = date(2017, 8, 8)
    real = query_df(landed_year["settings"], "select * from marts.training_examples")
    after = real["as_of_date"] >= pd.Timestamp(cut)
    changed = real.copy()
    changed.loc[real["end_date"] >= pd.Timestamp(cut), "label"] = 1 - changed["label"]  # labels after the cut
    changed.loc[after, "aff_spend_all"] *= 10  # later campaigns' features
    changed = changed[~(after & (changed["campaign_id"] % 2 == 0))]  # later campaigns dropped

    a, b = training_rows(real, cut), training_rows(changed, cut)
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
    assert (a["end_date"] < pd.Timestamp(cut)).all() and len(a) > 1000
    rows = scored_rows(real, cut)
    np.testing.assert_array_equal(train(a, FAST).predict(rows), train(b, FAST).predict(rows))
