"""Behavioural segments (models/segments.py) on a synthetic population with known kinds: the fit
is deterministic and canonical, names follow the profiles, a household keeps its segment unless
its own behaviour changes, and one that stops shopping moves to the lapsed profile."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from models import segments as S

CUT = date(2017, 4, 3)
KINDS = ("frequent", "occasional", "fuel", "lapsed")


def population(n_per_kind: int = 60, seed: int = 0) -> pd.DataFrame:
    """Four kinds of households, far apart on the segment features."""
    rng = np.random.default_rng(seed)
    rows = []
    hid = 1
    for kind in KINDS:
        for _ in range(n_per_kind):
            mix = np.full(len(S.DEPARTMENTS), 0.02) + rng.uniform(0, 0.01, len(S.DEPARTMENTS))
            if kind == "fuel":
                mix[S.DEPARTMENTS.index("fuel")] = 0.8
            else:
                mix[S.DEPARTMENTS.index("grocery")] = 0.6
            mix = mix / mix.sum()
            recency, freq, basket = {
                "frequent": (rng.uniform(0, 3), rng.uniform(2.5, 3.5), rng.uniform(45, 60)),
                "occasional": (rng.uniform(18, 24), rng.uniform(0.2, 0.3), rng.uniform(6, 9)),
                "fuel": (rng.uniform(5, 9), rng.uniform(0.8, 1.2), rng.uniform(25, 35)),
                "lapsed": (rng.uniform(60, 90), 0.0, np.nan),
            }[kind]
            row = {
                "household_id": hid,
                "kind": kind,
                S.RECENCY: recency,
                S.FREQUENCY: freq,
                S.BASKET: basket,
                S.BASKET_ALL: rng.uniform(20, 30) if np.isnan(basket) else basket,
                S.SPEND: 0.0 if np.isnan(basket) else freq * basket,
            }
            row.update({f"dept_share_{d}": float(v) for d, v in zip(S.DEPARTMENTS, mix, strict=True)})
            rows.append(row)
            hid += 1
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def pop() -> pd.DataFrame:
    return population()


@pytest.fixture(scope="module")
def seg(pop) -> S.Segmentation:
    return S.fit_segmentation(pop, CUT)


def _segment_of(seg: S.Segmentation, pop: pd.DataFrame) -> dict[str, str]:
    """The name most members of each kind get."""
    a = S.assign(seg, pop).merge(pop[["household_id", "kind"]], on="household_id")
    return {k: g["segment"].mode().iloc[0] for k, g in a.groupby("kind")}


def test_k_is_the_best_silhouette_among_fits_with_no_tiny_segment(seg):
    table = {s["k"]: s for s in seg.selection}
    allowed = [s for s in seg.selection if s["min_share"] >= S.MIN_SHARE]
    best = max(allowed, key=lambda s: s["silhouette"])
    assert seg.k == best["k"] == 4  # the four kinds
    assert [k for k, s in table.items() if s["chosen"]] == [4]
    assert len(seg.names) == len(set(seg.names)) == 4


def test_names_follow_the_profiles(seg, pop):
    by_kind = _segment_of(seg, pop)
    assert by_kind["lapsed"].startswith("lapsed")
    assert "fuel-heavy" in by_kind["fuel"]
    assert by_kind["frequent"].startswith("frequent") and "big-basket" in by_kind["frequent"]
    assert by_kind["occasional"].startswith("occasional") and "small-basket" in by_kind["occasional"]
    # every kind is one segment: the fit recovers them
    a = S.assign(seg, pop).merge(pop[["household_id", "kind"]], on="household_id")
    assert a.groupby("kind")["segment_id"].nunique().eq(1).all()


def test_ids_are_canonical_by_spend_whatever_the_seed_or_row_order(seg, pop):
    spend = [p[S.SPEND] for p in seg.profiles]
    assert spend == sorted(spend, reverse=True)
    other = S.fit_segmentation(pop.sample(frac=1.0, random_state=3), CUT, seed=99)
    assert other.names == seg.names
    np.testing.assert_allclose(other.centroids, seg.centroids, atol=1e-9)


def test_the_same_inputs_give_the_same_bytes(seg, pop):
    again = S.fit_segmentation(pop, CUT)
    assert json.dumps(again.to_dict(), sort_keys=True) == json.dumps(seg.to_dict(), sort_keys=True)
    assert S.Segmentation.from_dict(json.loads(json.dumps(seg.to_dict()))) == seg
    pd.testing.assert_frame_equal(S.assign(again, pop), S.assign(seg, pop))


def test_other_households_changing_do_not_move_h(seg, pop):
    h = int(pop.loc[pop["kind"] == "occasional", "household_id"].iloc[0])
    base = S.assign(seg, pop).set_index("household_id")["segment_id"]
    changed = pop.copy()
    others = changed["household_id"] != h
    changed.loc[others, S.RECENCY] = 80.0  # everyone else stops shopping
    changed.loc[others, [S.FREQUENCY, S.SPEND]] = 0.0
    frames = [(date(2017, 4, 3), pop), (date(2017, 4, 19), changed), (date(2017, 5, 8), changed)]
    out = S.fold({CUT: seg}, frames).set_index("household_id")["segment_id"]
    assert out[h] == base[h]
    assert out[others.to_numpy()].ne(base[others.to_numpy()]).any()  # the others did move


def _border_household(seg: S.Segmentation, a: int, b: int, towards_b: float) -> pd.DataFrame:
    """A household on the segment between centroids a and b (in raw units), a little towards b."""
    point = (0.5 - towards_b) * np.array(seg.centroids[a]) + (0.5 + towards_b) * np.array(seg.centroids[b])
    raw = S._unstandardise(point[None, :], seg.mean, seg.std)
    return pd.DataFrame(raw, columns=list(S.SEGMENT_FEATURES)).assign(household_id=1)


def test_a_tiny_change_does_not_flip_a_household_but_a_real_one_does(seg):
    a, b = 1, 2
    before = _border_household(seg, a, b, -0.01)  # just on a's side
    after = _border_household(seg, a, b, +0.01)  # just on b's side
    assert S.assign(seg, before)["segment_id"].item() == a
    assert S.assign(seg, after)["segment_id"].item() == b  # without history it would flip
    frames = [(date(2017, 4, 3), before), (date(2017, 4, 19), after)]
    assert S.fold({CUT: seg}, frames)["segment_id"].item() == a  # hysteresis keeps it
    far = _border_household(seg, a, b, +0.5)  # all the way to b's centroid
    assert S.fold({CUT: seg}, [*frames, (date(2017, 5, 8), far)])["segment_id"].item() == b


def test_a_household_that_stops_shopping_becomes_lapsed(seg, pop):
    h = pop[pop["kind"] == "frequent"].iloc[[0]].copy()
    frames = [(date(2017, 4, 3), h)]
    assert S.fold({CUT: seg}, frames)["segment"].item().startswith("frequent")
    for weeks in (1, 2):  # a week or two without shopping: still frequent on its 90 days
        later = h.assign(**{S.RECENCY: h[S.RECENCY] + 7 * weeks, S.FREQUENCY: h[S.FREQUENCY] * (1 - weeks / 13)})
        frames.append((date(2017, 4, 3 + 7 * weeks), later))
        assert S.fold({CUT: seg}, frames)["segment"].item().startswith("frequent")
    gone = h.assign(**{S.RECENCY: 95.0, S.FREQUENCY: 0.0, S.SPEND: 0.0, S.BASKET: np.nan})
    frames.append((date(2017, 7, 7), gone))
    assert S.fold({CUT: seg}, frames)["segment"].item().startswith("lapsed")


def test_a_refit_carries_households_to_the_matching_segment(seg, pop):
    later_pop = population(seed=1)  # the same kinds, other draws: a refit on a nearby population
    cut2 = date(2017, 7, 12)
    seg2 = S.fit_segmentation(later_pop, cut2)
    assert seg2.names == seg.names
    assert S.carry_over(seg, seg2) == {i: i for i in range(seg.k)}
    out = S.fold({CUT: seg, cut2: seg2}, [(CUT, pop), (cut2, pop)])
    pd.testing.assert_frame_equal(out, S.assign(seg, pop))


def test_fitting_cuts_are_the_first_as_of_date_of_each_period_with_26_weeks():
    first = date(2017, 1, 1)
    dates = [
        date(2017, 3, 29),
        date(2017, 7, 1),
        date(2017, 7, 12),
        date(2017, 8, 8),
        date(2017, 10, 4),
        date(2018, 1, 9),
    ]
    assert S.fitting_cuts(dates, first) == [date(2017, 7, 12), date(2018, 1, 9)]  # yearly; 07-01 has 181 days
    assert S.fitting_cuts(dates, first, refit_months=3) == [date(2017, 7, 12), date(2017, 10, 4), date(2018, 1, 9)]
    assert S.fitting_cuts([date(2017, 7, 1)], first) == []  # 181 days of history: not yet
    fits = {date(2017, 7, 12): "a", date(2018, 1, 9): "b"}
    assert S.fit_in_force(fits, date(2018, 1, 8)) == "a" and S.fit_in_force(fits, date(2017, 7, 11)) is None  # type: ignore[arg-type]


def test_silhouette_matches_the_definition_on_a_small_case():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(30, 3))
    labels = rng.integers(0, 3, 30)
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    s = []
    for i in range(30):
        own = (labels == labels[i]) & (np.arange(30) != i)
        if not own.any():
            s.append(0.0)
            continue
        a = d[i, own].mean()
        b = min(d[i, labels == j].mean() for j in set(labels.tolist()) - {labels[i]})
        s.append((b - a) / max(a, b))
    assert S.silhouette(x, labels) == pytest.approx(float(np.mean(s)), abs=1e-12)


def test_a_handful_of_odd_households_is_not_a_segment():
    pop = population()
    pop = pop[pop["kind"] != "lapsed"]  # three kinds, 60 each
    odd = pop[pop["kind"] == "fuel"].head(3).copy()  # three far-off households: all pastry
    odd["household_id"] += 1000
    odd[list(S.MIX)] = 0.0
    odd["dept_share_pastry"] = 1.0
    pop = pd.concat([pop, odd], ignore_index=True)
    seg = S.fit_segmentation(pop, CUT)
    alone = next(s for s in seg.selection if s["k"] == 4)
    assert (
        alone["min_share"] < S.MIN_SHARE
        and alone["silhouette"] > next(s for s in seg.selection if s["k"] == 3)["silhouette"]
    )
    assert seg.k == 3 and min(seg.sizes) >= S.MIN_SHARE * len(pop)
