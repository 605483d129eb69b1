"""Behavioural segments of households: pure functions, no store, no warehouse.

Households are clustered on recency, frequency, spend and department mix as of a *fitting cut*
(``household_features`` as of that date), and every later date is assigned by nearest centroid
with hysteresis, so that a household keeps its segment unless its behaviour really changes:

* **features** (``SEGMENT_FEATURES``): days since the last purchase (recency), baskets per week
  over 90 days (frequency), spend per week and the average basket over 90 days (spend), and the
  eight department shares (mix). The four behaviour facts are skewed counts and amounts, so they
  are ``log1p``'d and standardised with the cut's mean and standard deviation; the shares are
  centred and divided by one pooled standard deviation (a share is one unit whatever the
  department, and a rare department's noise must not weigh like grocery). The four named
  dimensions weigh alike (``DIMENSION_WEIGHTS``): recency, frequency, spend (per week and per
  basket, half each) and the mix (an eighth per department); with the mix weighing as much as
  the four behaviour facts together, the real year's fits split the occasional shoppers by
  department and found no lapsed segment (``benchmarks/results_segments.txt``). A household
  with no basket in 90 days takes its basket over all its history.
* **fit** (``fit_segmentation``): Lloyd's k-means with k-means++ seeding from a fixed seed
  (``SEED``, several starts, the lowest inertia kept), for every k in ``K_RANGE``; k is the one
  with the highest silhouette (measured on a seeded sample) among the fits whose smallest segment
  holds at least ``MIN_SHARE`` of the households (a segment of a handful of households is
  neither a profile nor safe to publish as an aggregate). ``benchmarks/segments.py`` prints the
  table on the real year.
* **canonical order**: segment ids are the centroids sorted by spend per week (highest first),
  so the same data gives the same ids whatever the seeding found first, and a refit on a nearby
  population keeps its ids in the same order.
* **names** (``name_segments``) come from each centroid's profile against the cut's population:
  "lapsed" when its members' median recency is ``LAPSED_DAYS`` or more, "frequent"/"occasional"
  from the frequency's z-score, "big-basket"/"small-basket" from the basket's, and
  "<department>-heavy" for a department share well above the population's (never hand-labelled).
* **hysteresis** (``assign``): a household stays in its previous segment while that centroid is
  no more than ``MARGIN`` (standardised units) farther than the nearest one; ``fold`` runs this
  over the as-of dates in order, so the segment of date D is a pure function of the features up
  to D and the fits: the same inputs give the same segments, and data that does not change a
  household does not move it.
* **refits** (``fitting_cuts``): the first as-of date of each calendar year once
  ``MIN_HISTORY_DAYS`` of history have landed (``REFIT_MONTHS``: quarterly refits moved about
  three households in ten to another segment at each refit on the real year, against one in
  twelve between two as-of dates of one fit); across a refit a household's previous segment is
  carried to the new centroid nearest the old one (``carry_over``) and hysteresis continues.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

RECENCY = "days_since_last_purchase"
FREQUENCY = "baskets_per_week_90d"
SPEND = "spend_per_week_90d"
BASKET = "avg_basket_value_90d"
BASKET_ALL = "avg_basket_value_all"  # stands in for the 90-day basket of a household with none
BEHAVIOUR: tuple[str, ...] = (RECENCY, FREQUENCY, SPEND, BASKET)
DEPARTMENTS: tuple[str, ...] = ("grocery", "drug_gm", "produce", "meat", "deli", "fuel", "pastry", "other")
MIX: tuple[str, ...] = tuple(f"dept_share_{d}" for d in DEPARTMENTS)
SEGMENT_FEATURES: tuple[str, ...] = BEHAVIOUR + MIX
DEPARTMENT_LABEL = {
    "grocery": "grocery",
    "drug_gm": "drug/GM",
    "produce": "produce",
    "meat": "meat",
    "deli": "deli",
    "fuel": "fuel",
    "pastry": "pastry",
    "other": "specialty",
}

SEED = 15
K_RANGE: tuple[int, ...] = (3, 4, 5, 6, 7, 8)
N_INIT = 8
MAX_ITER = 100
MIN_SHARE = 0.02  # the smallest segment a fit may have (share of the fitted households)
FIT_SAMPLE = 20_000  # households a fit uses at most (a seeded sample beyond that)
SILHOUETTE_SAMPLE = 2_000
# the four named dimensions weigh alike (squared weights summing to 1 per dimension): recency,
# frequency, spend (per week and per basket, half each) and the mix (an eighth per department)
DIMENSION_WEIGHTS: dict[str, float] = {
    RECENCY: 1.0,
    FREQUENCY: 1.0,
    SPEND: float(np.sqrt(0.5)),
    BASKET: float(np.sqrt(0.5)),
    **{c: float(np.sqrt(1 / len(MIX))) for c in MIX},
}
MARGIN = 0.5  # hysteresis: extra distance the previous centroid may have before a household moves
LAPSED_DAYS = 28.0  # a segment whose members' median recency is this or more is "lapsed"
Z_NAME = 0.5  # |z| of a centroid's frequency or basket from which it names the segment
Z_DEPARTMENT = 1.0  # z of a department share from which the segment is "<department>-heavy"
MIN_HISTORY_DAYS = 182  # a cut needs 26 weeks of history: a lapsed household is told from an occasional one
REFIT_MONTHS = 12  # one fit per calendar year: quarterly refits renamed a third of the households


@dataclass(frozen=True)
class Segmentation:
    """One fit: the transform, the centroids in canonical order and their names (plain JSON)."""

    cut: str  # ISO date of the household_features it was fitted on
    households: int  # households fitted (after the sample cap)
    mean: dict[str, float]
    std: dict[str, float]
    centroids: list[list[float]]  # in the standardised, weighted space, canonical order
    names: list[str]
    sizes: list[int]
    profiles: list[dict[str, float]]  # median raw value of each feature among a segment's members
    selection: list[dict[str, Any]] = field(default_factory=list)  # k, silhouette, min_share, chosen
    margin: float = MARGIN

    @property
    def k(self) -> int:
        return len(self.centroids)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Segmentation:
        return cls(**d)


def _raw(df: pd.DataFrame) -> np.ndarray:
    missing = [c for c in SEGMENT_FEATURES if c not in df.columns]
    if missing:
        raise ValueError(f"household features lack {missing}: rebuild the marts (dbt build)")
    x = df[list(SEGMENT_FEATURES)].astype(float).to_numpy(copy=True)
    # avg_basket_value_90d is null without a basket in 90 days: the basket the household had
    # (over all its history) still says what kind of shopper it was; 0 if even that is unknown
    if BASKET_ALL in df.columns:
        i = SEGMENT_FEATURES.index(BASKET)
        x[:, i] = np.where(np.isnan(x[:, i]), df[BASKET_ALL].astype(float).to_numpy(), x[:, i])
    return np.nan_to_num(x, nan=0.0)


def _logged(x: np.ndarray) -> np.ndarray:
    out = x.copy()
    n = len(BEHAVIOUR)
    out[:, :n] = np.log1p(np.clip(out[:, :n], 0, None))
    return out


WEIGHTS = np.array([DIMENSION_WEIGHTS[c] for c in SEGMENT_FEATURES])


def standardise(df: pd.DataFrame, mean: dict[str, float], std: dict[str, float]) -> np.ndarray:
    """Rows of ``df`` in the space the centroids live in: log1p (behaviour), z-score, weights."""
    x = _logged(_raw(df))
    mu = np.array([mean[c] for c in SEGMENT_FEATURES])
    sd = np.array([std[c] for c in SEGMENT_FEATURES])
    return (x - mu) / sd * WEIGHTS


def _unstandardise(z: np.ndarray, mean: dict[str, float], std: dict[str, float]) -> np.ndarray:
    mu = np.array([mean[c] for c in SEGMENT_FEATURES])
    sd = np.array([std[c] for c in SEGMENT_FEATURES])
    x = z / WEIGHTS * sd + mu
    n = len(BEHAVIOUR)
    x[..., :n] = np.expm1(x[..., :n])
    return x


def sq_distances(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """[n, k] squared Euclidean distances, elementwise (no BLAS reduction order to vary)."""
    return ((x[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)


def kmeans(x: np.ndarray, k: int, seed: int = SEED, n_init: int = N_INIT) -> tuple[np.ndarray, np.ndarray, float]:
    """(centroids [k, d], labels [n], inertia): the best of ``n_init`` k-means++ starts."""
    rng = np.random.default_rng(seed)
    best: tuple[np.ndarray, np.ndarray, float] | None = None
    for _ in range(n_init):
        c = _plus_plus(x, k, rng)
        labels = np.zeros(len(x), dtype=np.int64)
        for _ in range(MAX_ITER):
            labels = sq_distances(x, c).argmin(axis=1)
            new = np.array([x[labels == j].mean(axis=0) if (labels == j).any() else c[j] for j in range(k)])
            if np.array_equal(new, c):
                break
            c = new
        inertia = float(sq_distances(x, c)[np.arange(len(x)), labels].sum())
        if best is None or inertia < best[2]:
            best = (c, labels, inertia)
    assert best is not None
    return best


def _plus_plus(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    centres = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        d = sq_distances(x, np.array(centres)).min(axis=1)
        total = d.sum()
        centres.append(x[rng.choice(len(x), p=d / total)] if total > 0 else x[rng.integers(len(x))])
    return np.array(centres)


def silhouette(x: np.ndarray, labels: np.ndarray, seed: int = SEED, sample: int = SILHOUETTE_SAMPLE) -> float:
    """Mean silhouette over a seeded sample of rows (distances to every row of the sample)."""
    if len(x) > sample:
        rows = np.sort(np.random.default_rng(seed).choice(len(x), sample, replace=False))
        x, labels = x[rows], labels[rows]
    ks = np.unique(labels)
    if len(ks) < 2:
        return float("nan")
    members = [labels == j for j in ks]
    mean_to = np.zeros((len(x), len(ks)))
    for start in range(0, len(x), 256):  # blocks of rows: a [256, n] matrix, never [n, n, d]
        d = np.sqrt(sq_distances(x[start : start + 256], x))
        mean_to[start : start + 256] = np.column_stack([d[:, m].sum(axis=1) for m in members])
    counts = np.array([(labels == j).sum() for j in ks], dtype=float)
    own = np.searchsorted(ks, labels)
    n_own = counts[own]
    a = np.where(n_own > 1, mean_to[np.arange(len(x)), own] / np.maximum(n_own - 1, 1), 0.0)
    other = mean_to / counts
    other[np.arange(len(x)), own] = np.inf
    b = other.min(axis=1)
    s = np.where(n_own > 1, (b - a) / np.maximum(a, b), 0.0)
    return float(s.mean())


def name_segments(profiles: Sequence[dict[str, float]], centroids: np.ndarray) -> list[str]:
    """A name per segment from its profile: members' median recency (lapsed), and the centroid's
    z-scores of frequency, basket and department shares against the cut's population."""
    names = []
    for prof, c in zip(profiles, centroids, strict=True):
        z = dict(zip(SEGMENT_FEATURES, c / WEIGHTS, strict=True))
        parts = []
        if prof[RECENCY] >= LAPSED_DAYS:
            parts.append("lapsed")
        elif z[FREQUENCY] >= Z_NAME:
            parts.append("frequent")
        elif z[FREQUENCY] <= -Z_NAME:
            parts.append("occasional")
        if z[BASKET] >= Z_NAME:
            parts.append("big-basket")
        elif z[BASKET] <= -Z_NAME:
            parts.append("small-basket")
        dept = max(DEPARTMENTS, key=lambda d: z[f"dept_share_{d}"])
        if z[f"dept_share_{dept}"] >= Z_DEPARTMENT:
            parts.append(f"{DEPARTMENT_LABEL[dept]}-heavy")
        names.append(" ".join(parts) or "regular")
    return _distinct(names, [p[SPEND] for p in profiles])


def _distinct(names: list[str], spend: list[float]) -> list[str]:
    """Two profiles that read alike are told apart by their spend (higher / lower, then a rank)."""
    out = list(names)
    for name in set(names):
        same = [i for i, n in enumerate(names) if n == name]
        if len(same) < 2:
            continue
        by_spend = sorted(same, key=lambda i: -spend[i])
        for rank, i in enumerate(by_spend):
            tag = "higher-spend" if rank == 0 else "lower-spend" if rank == len(same) - 1 else f"spend rank {rank + 1}"
            out[i] = f"{name}, {tag}"
    return out


def fit_segmentation(
    features: pd.DataFrame, cut: date, *, k_range: Iterable[int] = K_RANGE, seed: int = SEED, margin: float = MARGIN
) -> Segmentation:
    """Fit the segments on ``features`` (one row per household, as of ``cut``)."""
    if features.empty:
        raise ValueError(f"no household features as of {cut}: nothing to segment")
    df = features.sort_values("household_id", kind="stable").reset_index(drop=True)
    if len(df) > FIT_SAMPLE:
        rows = np.sort(np.random.default_rng(seed).choice(len(df), FIT_SAMPLE, replace=False))
        df = df.iloc[rows].reset_index(drop=True)
    logged = _logged(_raw(df))
    mean = {c: float(v) for c, v in zip(SEGMENT_FEATURES, logged.mean(axis=0), strict=True)}
    std = {c: float(v) or 1.0 for c, v in zip(SEGMENT_FEATURES, logged.std(axis=0), strict=True)}
    # the shares are one unit already: one pooled scale, so a rare department's noise is not
    # blown up to the weight of the main ones
    pooled = float(np.sqrt(np.mean(logged[:, len(BEHAVIOUR) :].var(axis=0)))) or 1.0
    std.update({c: pooled for c in MIX})
    x = standardise(df, mean, std)
    selection: list[dict[str, Any]] = []
    fits: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for k in k_range:
        if k >= len(df):
            continue
        c, labels, inertia = kmeans(x, k, seed)
        share = float(np.bincount(labels, minlength=k).min() / len(df))
        sil = silhouette(x, labels, seed)
        fits[k] = (c, labels)
        selection.append({"k": k, "silhouette": sil, "min_share": share, "inertia": inertia})
    ok = [s for s in selection if s["min_share"] >= MIN_SHARE and np.isfinite(s["silhouette"])] or selection
    if not ok:
        raise ValueError(f"{len(df)} households as of {cut} are too few to segment")
    chosen = int(max(ok, key=lambda s: (s["silhouette"], -s["k"]))["k"])
    for s in selection:
        s["chosen"] = s["k"] == chosen
    c, labels = fits[chosen]
    raw = _raw(df)
    spend_of = np.array([np.median(raw[labels == j, SEGMENT_FEATURES.index(SPEND)]) for j in range(chosen)])
    order = np.lexsort((np.arange(chosen), -spend_of))  # canonical: highest spend first
    c = c[order]
    labels = np.argsort(order)[labels]
    profiles = [
        {f: float(np.median(raw[labels == j, i])) for i, f in enumerate(SEGMENT_FEATURES)} for j in range(chosen)
    ]
    return Segmentation(
        cut=cut.isoformat(),
        households=len(df),
        mean=mean,
        std=std,
        centroids=c.tolist(),
        names=name_segments(profiles, c),
        sizes=np.bincount(labels, minlength=chosen).tolist(),
        profiles=profiles,
        selection=selection,
        margin=margin,
    )


def assign(seg: Segmentation, features: pd.DataFrame, previous: pd.Series | None = None) -> pd.DataFrame:
    """household_id, segment_id, segment for each row of ``features``: the nearest centroid,
    unless ``previous`` (segment id by household id) is within ``seg.margin`` of it."""
    x = standardise(features, seg.mean, seg.std)
    d = np.sqrt(sq_distances(x, np.array(seg.centroids)))
    nearest = d.argmin(axis=1)
    out = nearest.copy()
    if previous is not None and len(previous):
        prev = features["household_id"].map(previous).to_numpy(dtype=float)
        has = ~np.isnan(prev)
        p = np.where(has, prev, 0).astype(np.int64)
        keep = has & (d[np.arange(len(x)), p] <= d[np.arange(len(x)), nearest] + seg.margin)
        out = np.where(keep, p, nearest)
    return pd.DataFrame(
        {
            "household_id": features["household_id"].to_numpy(),
            "segment_id": out.astype(np.int64),
            "segment": np.array(seg.names, dtype=object)[out],
        }
    )


def carry_over(old: Segmentation, new: Segmentation) -> dict[int, int]:
    """Old segment id -> the new segment whose centroid is nearest the old one's (raw units,
    re-standardised with the new fit): a refit does not reshuffle households at its border."""
    raw = _unstandardise(np.array(old.centroids), old.mean, old.std)
    z = standardise(pd.DataFrame(raw, columns=list(SEGMENT_FEATURES)), new.mean, new.std)
    nearest = sq_distances(z, np.array(new.centroids)).argmin(axis=1)
    return {i: int(j) for i, j in enumerate(nearest)}


def fitting_cuts(as_of_dates: Iterable[date], first_landed: date, refit_months: int = REFIT_MONTHS) -> list[date]:
    """The first as-of date of each period of ``refit_months`` calendar months (from January)
    with ``MIN_HISTORY_DAYS`` of history."""
    cuts: dict[int, date] = {}
    for d in sorted(set(as_of_dates)):
        if (d - first_landed).days >= MIN_HISTORY_DAYS:
            cuts.setdefault((d.year * 12 + d.month - 1) // refit_months, d)
    return sorted(cuts.values())


def fit_in_force(fits: dict[date, Segmentation], day: date) -> Segmentation | None:
    cuts = [c for c in fits if c <= day]
    return fits[max(cuts)] if cuts else None


def fold(fits: dict[date, Segmentation], frames: Iterable[tuple[date, pd.DataFrame]]) -> pd.DataFrame | None:
    """Segments of the last date of ``frames`` ((as-of date, household features) in date order),
    assigned date by date with hysteresis from the first fit on; None before any fit."""
    current: pd.DataFrame | None = None
    seg_of: Segmentation | None = None
    for day, features in frames:
        seg = fit_in_force(fits, day)
        if seg is None:
            continue
        previous = None
        if current is not None and seg_of is not None:
            mapping = carry_over(seg_of, seg) if seg is not seg_of else None
            ids = current.set_index("household_id")["segment_id"]
            previous = ids.map(mapping) if mapping is not None else ids
        current = assign(seg, features, previous)
        seg_of = seg
    return current
