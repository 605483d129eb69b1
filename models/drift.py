"""Drift of a frame against a profile of training data: population stability per numeric feature.

A **profile** of one numeric feature is a set of cut points and the share of the training rows in
each bin they make, plus the share of missing values:

* cut points: the distinct values among the training quantiles at 0, 1/k, ..., (k-1)/k (``k =
  bins``, observed values: numpy's ``inverted_cdf``), followed by the next float above the
  training maximum. Bins are lower-closed: ``[c_i, c_{i+1})``, with one bin below the first cut
  (values under the training minimum) and one at or above the last (values above the maximum).
  Both outer bins hold no training row by construction: new territory is drift.
* ties: equal quantiles collapse into one cut, so a heavily tied feature has fewer bins (a value
  holding 70% of the rows is one bin, never split at random); a constant feature ``v`` has the
  cuts ``[v, next float after v]``: the bins "below v", "v" (share 1) and "above v".
* missing: NaN or None (and +-inf, which no cut can place honestly) go to a separate last bin
  with its own expected share; a feature with no finite training value has no cuts, one value bin
  of share 0 and the missing bin of share 1.

The **population stability index** of a frame's column against the profile is
``PSI = sum_b (a_b - e_b) ln(a_b / e_b)`` over every bin (missing included), ``a`` the frame's
shares, ``e`` the profile's. A bin empty on either side would make the term infinite, so both
shares are first floored at ``FLOOR`` (1e-4, i.e. one row in ten thousand): a bin empty on both
sides adds exactly 0, a bin empty on one side adds a large but finite term. The usual reading:
below 0.1 stable, 0.1-0.25 a moderate shift, above 0.25 a shift worth acting on (the settings
``drift_psi_warn`` and ``drift_psi_alert``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

FLOOR = 1e-4  # share floor of an empty bin before the log ratio (see the module's docstring)
BINS = 10
SCORE = "score"  # the profile's name for the model's score, beside the features
PROFILE_FORMAT = "psi-profile-v1"


@dataclass(frozen=True)
class FeatureProfile:
    """One numeric feature: ``cuts`` (strictly increasing) and ``expected``: the training share of
    each of the ``len(cuts) + 1`` value bins, then the share of missing values (sums to 1)."""

    cuts: tuple[float, ...]
    expected: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"cuts": list(self.cuts), "expected": list(self.expected)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeatureProfile:
        return cls(tuple(float(c) for c in d["cuts"]), tuple(float(e) for e in d["expected"]))


def _values(values: Iterable[Any] | np.ndarray | pd.Series) -> np.ndarray:
    x = pd.to_numeric(pd.Series(values).reset_index(drop=True), errors="coerce")
    return x.astype(float).to_numpy()


def cut_points(finite: np.ndarray, bins: int = BINS) -> tuple[float, ...]:
    """The cut points of the module's rule for the finite training values ``finite``."""
    if bins < 1:
        raise ValueError(f"a profile needs at least one bin, not {bins}")
    if finite.size == 0:
        return ()
    levels = np.arange(bins) / bins
    q = np.unique(np.quantile(finite, levels, method="inverted_cdf"))
    top = np.nextafter(finite.max(), np.inf)
    return tuple(float(c) for c in q) + (float(top),)


def shares(values: Iterable[Any] | np.ndarray | pd.Series, cuts: tuple[float, ...]) -> np.ndarray:
    """Share of ``values`` in each value bin of ``cuts`` (``len(cuts) + 1``), then the missing share."""
    x = _values(values)
    if x.size == 0:
        raise ValueError("no rows to compare with the profile")
    finite = np.isfinite(x)
    idx = np.searchsorted(np.asarray(cuts, float), x[finite], side="right")
    counts = np.bincount(idx, minlength=len(cuts) + 1).astype(float)
    return np.append(counts, float((~finite).sum())) / x.size


def profile_feature(values: Iterable[Any] | np.ndarray | pd.Series, bins: int = BINS) -> FeatureProfile:
    x = _values(values)
    if x.size == 0:
        raise ValueError("cannot profile a feature with no rows")
    cuts = cut_points(x[np.isfinite(x)], bins)
    return FeatureProfile(cuts, tuple(float(s) for s in shares(x, cuts)))


def psi_of_shares(actual: np.ndarray, expected: np.ndarray, floor: float = FLOOR) -> float:
    """``sum (a - e) ln(a / e)`` with both shares floored at ``floor``."""
    a = np.maximum(np.asarray(actual, float), floor)
    e = np.maximum(np.asarray(expected, float), floor)
    if a.shape != e.shape:
        raise ValueError(f"{a.size} actual bins against {e.size} expected ones")
    return float(np.sum((a - e) * np.log(a / e)))


def psi(values: Iterable[Any] | np.ndarray | pd.Series, profile: FeatureProfile, floor: float = FLOOR) -> float:
    """PSI of ``values`` against one feature's profile."""
    return psi_of_shares(shares(values, profile.cuts), np.asarray(profile.expected), floor)


@dataclass(frozen=True)
class Profile:
    """The profile of a frame: one ``FeatureProfile`` per column, with the rows it was made from
    and what those rows were (a model version's training window, the marts' window of v0)."""

    features: dict[str, FeatureProfile]
    rows: int
    source: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PROFILE_FORMAT,
            "rows": self.rows,
            "source": self.source,
            "features": {name: p.to_dict() for name, p in sorted(self.features.items())},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Profile:
        if d.get("format") != PROFILE_FORMAT:
            raise ValueError(f"profile format {d.get('format')!r} is not one this code reads ({PROFILE_FORMAT!r})")
        features = {name: FeatureProfile.from_dict(p) for name, p in d["features"].items()}
        return cls(features, int(d["rows"]), dict(d.get("source", {})))


def profile_frame(
    df: pd.DataFrame,
    columns: Iterable[str],
    *,
    score: np.ndarray | None = None,
    bins: int = BINS,
    source: dict[str, Any] | None = None,
) -> Profile:
    """Profile ``columns`` of ``df`` (and the model's ``score`` of its rows, as ``SCORE``)."""
    columns = list(columns)
    absent = [c for c in columns if c not in df.columns]
    if absent:
        raise ValueError(f"cannot profile columns the rows lack: {absent}")
    features = {c: profile_feature(df[c], bins) for c in columns}
    if score is not None:
        if len(score) != len(df):
            raise ValueError(f"{len(score)} scores for {len(df)} rows")
        features[SCORE] = profile_feature(np.asarray(score, float), bins)
    return Profile(features, len(df), dict(source or {}))


def psi_frame(df: pd.DataFrame, profile: Profile, *, score: np.ndarray | None = None) -> dict[str, float | None]:
    """PSI of each profiled column of ``df`` (``SCORE`` from ``score``); None for a profiled
    column the frame lacks (the report shows it as absent)."""
    out: dict[str, float | None] = {}
    for name, p in sorted(profile.features.items()):
        if name == SCORE:
            out[name] = None if score is None else psi(np.asarray(score, float), p)
        else:
            out[name] = psi(df[name], p) if name in df.columns else None
    return out


def status(value: float | None, warn: float, alert: float) -> str:
    """ok below ``warn``, warn from ``warn`` up to ``alert``, alert from ``alert`` on."""
    if value is None:
        return "absent"
    if value >= alert:
        return "alert"
    return "warn" if value >= warn else "ok"
