"""Population stability against a profile (models/drift.py), on cases small enough to do by hand."""

from __future__ import annotations

import json
from math import log

import numpy as np
import pandas as pd
import pytest

from models.drift import (
    FLOOR,
    SCORE,
    FeatureProfile,
    Profile,
    profile_feature,
    profile_frame,
    psi,
    psi_frame,
    psi_of_shares,
    shares,
    status,
)

NEXT_4 = float(np.nextafter(4.0, np.inf))


def test_cut_points_are_observed_quantiles_with_empty_outer_bins():
    p = profile_feature([1, 2, 3, 4], bins=4)
    # quantiles at 0, 1/4, 2/4, 3/4 (inverted_cdf): 1, 1, 2, 3 -> distinct 1, 2, 3; then just above the max
    assert p.cuts == (1.0, 2.0, 3.0, NEXT_4)
    # bins: below 1, [1, 2), [2, 3), [3, 4], above 4, missing
    assert p.expected == (0.0, 0.25, 0.25, 0.5, 0.0, 0.0)


def test_ties_collapse_and_a_constant_feature_has_below_at_and_above_bins():
    tied = profile_feature([0, 0, 0, 0, 0, 0, 0, 5, 6, 7], bins=10)
    assert tied.cuts[0] == 0.0 and tied.expected[1] == 0.7  # the tied value is one bin, never split
    const = profile_feature([5.0, 5.0, 5.0])
    assert const.cuts == (5.0, float(np.nextafter(5.0, np.inf)))
    assert const.expected == (0.0, 1.0, 0.0, 0.0)
    # above and below the constant are both seen
    assert shares([4.0, 5.0, 6.0, 6.0], const.cuts).tolist() == [0.25, 0.25, 0.5, 0.0]


def test_missing_values_have_their_own_bin():
    p = profile_feature([1.0, 2.0, None, np.nan], bins=2)
    # finite values 1, 2: quantiles at 0 and 1/2 are 1 and 1 -> cuts 1, next(2)
    assert p.expected == (0.0, 1 / 2, 0.0, 1 / 2)
    empty = profile_feature([np.nan, np.nan])
    assert empty.cuts == () and empty.expected == (0.0, 1.0)
    assert psi([np.nan], empty) == 0.0


def test_psi_by_hand_with_the_floor_on_an_emptied_bin():
    p = profile_feature([1, 2, 3, 4], bins=4)  # expected 0, .25, .25, .5, 0, 0
    actual = [1, 1, 3, 4]  # 0, .5, 0, .5, 0, 0: the bin [2, 3) is emptied
    by_hand = (0.5 - 0.25) * log(0.5 / 0.25) + (1e-4 - 0.25) * log(1e-4 / 0.25)
    assert FLOOR == 1e-4
    assert psi(actual, p) == pytest.approx(by_hand, rel=1e-12)
    assert psi(actual, p) == pytest.approx(2.128516, abs=1e-6)  # 0.173287 + 1.955229
    # a floor of another size, or the log ratio upside down, gives other numbers
    assert psi_of_shares(shares(actual, p.cuts), np.array(p.expected), floor=1e-6) != pytest.approx(by_hand)
    assert psi(actual, p) > 0


def test_psi_by_hand_on_two_bins_and_on_missing_shares():
    assert psi_of_shares(np.array([0.8, 0.2]), np.array([0.5, 0.5])) == pytest.approx(
        0.3 * log(1.6) + (-0.3) * log(0.4), rel=1e-12
    )
    assert psi_of_shares(np.array([0.8, 0.2]), np.array([0.5, 0.5])) == pytest.approx(0.415888, abs=1e-6)
    p = profile_feature([1.0, 2.0, 3.0, np.nan], bins=1)  # cuts 1, next(3): bins <1, [1,3], >3, missing
    assert p.expected == (0.0, 0.75, 0.0, 0.25)
    by_hand = (0.5 - 0.75) * log(0.5 / 0.75) + (0.5 - 0.25) * log(0.5 / 0.25)
    assert psi([1.0, 2.0, np.nan, None], p) == pytest.approx(by_hand, rel=1e-12)


def test_a_constant_feature_that_moves_is_drift():
    p = profile_feature([5.0] * 10)
    by_hand = (0.5 - 1.0) * log(0.5 / 1.0) + (0.5 - 1e-4) * log(0.5 / 1e-4)
    assert psi([5.0, 5.0, 6.0, 6.0], p) == pytest.approx(by_hand, rel=1e-12)


def test_identical_distributions_give_zero_and_a_shift_passes_the_alert_threshold():
    rng = np.random.default_rng(0)
    train = rng.normal(0, 1, 20_000)
    p = profile_feature(train)
    assert psi(train, p) == 0.0
    assert psi(rng.permutation(train), p) == 0.0
    assert psi(rng.normal(0, 1, 20_000), p) < 0.01  # a fresh sample of the same law: stable
    shifted = psi(rng.normal(1.0, 1, 20_000), p)  # one standard deviation
    assert shifted > 0.25 and status(shifted, 0.1, 0.25) == "alert"
    mild = psi(rng.normal(0.4, 1, 20_000), p)
    assert 0.1 <= mild < 0.25 and status(mild, 0.1, 0.25) == "warn"


def test_status_thresholds():
    assert [status(v, 0.1, 0.25) for v in (0.0, 0.0999, 0.1, 0.2499, 0.25, 3.0, None)] == [
        "ok",
        "ok",
        "warn",
        "warn",
        "alert",
        "alert",
        "absent",
    ]


def test_a_frame_profile_round_trips_through_json_and_scores_its_columns():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [0, 0, 1, 1], "c": ["x"] * 4})
    prof = profile_frame(df, ["a", "b"], score=np.array([0.1, 0.2, 0.3, 0.4]), source={"version": "v0"})
    again = Profile.from_dict(json.loads(json.dumps(prof.to_dict())))
    assert again == prof and set(again.features) == {"a", "b", SCORE}
    assert psi_frame(df, again, score=np.array([0.1, 0.2, 0.3, 0.4])) == {"a": 0.0, "b": 0.0, SCORE: 0.0}
    out = psi_frame(df.drop(columns="b"), again)
    assert out["b"] is None and out[SCORE] is None
    with pytest.raises(ValueError, match="lack"):
        profile_frame(df, ["zzz"])
    with pytest.raises(ValueError, match="format"):
        Profile.from_dict({"format": "other", "rows": 1, "features": {}})
    assert FeatureProfile.from_dict(prof.features["a"].to_dict()) == prof.features["a"]
