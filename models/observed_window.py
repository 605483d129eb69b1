"""Every campaign after a cut, on what has been observed of it: groups, labels and timing.

A backtest scores every campaign that starts on or after its cut, and the last ones of the data
run past its end (their windows are partly landed). DESIGN's label rule says such a pair is
censored, never a plain negative of the whole window. So the campaigns fall in three groups:

* **fully observed** (``label_is_final`` for every pair, the window has landed): the label is
  final; the figures the quality bar and the promotion rule have always used;
* **partly observed** (the window started but has not fully landed, ``label_observed_share`` in
  (0, 1)): each pair counts on the observed part of its window only. Its label is "redeemed by
  the last landed day", and the score it is compared with is the model's probability of *that*:
  p x F(share), where F(s) is the share of redeemers whose first redemption came within the
  first s of their window, measured on the training rows only. Within one campaign F scales every
  score alike, so its ranking metrics do not move; across campaigns it keeps a half-observed
  campaign's scores comparable with a finished one's, which pooled metrics need;
* **not yet observed** (share 0: nothing of the window has landed): nothing to evaluate; listed.

The pooled figures (every pair of every observed campaign after the cut) and the per-campaign
ones come from ``models.backtest``; this module only says which rows and which scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

FULL, PARTIAL, UNOBSERVED = "fully observed", "partly observed", "not yet observed"


def campaign_groups(scored: pd.DataFrame) -> dict[int, str]:
    """campaign_id -> its group, from the mart's censoring columns (one value per campaign)."""
    per = scored.groupby("campaign_id").agg(censored=("is_censored", "max"), share=("label_observed_share", "min"))
    out = {}
    for cid, row in per.iterrows():
        if not bool(row["censored"]):
            out[int(cid)] = FULL
        elif float(row["share"]) > 0:
            out[int(cid)] = PARTIAL
        else:
            out[int(cid)] = UNOBSERVED
    return out


def window_offset(rows: pd.DataFrame) -> np.ndarray:
    """Where in its window each redeemer first redeemed: (days since start + 1) / duration, in (0, 1].

    The same day-counting as ``int_landed_window``'s landed share (the start day counts as one
    day landed), so that a redemption on the last landed day falls within the observed share.
    """
    first = pd.to_datetime(rows["first_redemption_date"])
    start = pd.to_datetime(rows["as_of_date"])
    duration = (pd.to_datetime(rows["end_date"]) - start).dt.days + 1
    return (((first - start).dt.days + 1) / duration).to_numpy(dtype=float)


@dataclass(frozen=True)
class RedemptionTiming:
    """F(s): the share of redeemers whose first redemption falls within the first s of the window."""

    offsets: np.ndarray  # sorted window offsets of the training redeemers

    @classmethod
    def fit(cls, train: pd.DataFrame) -> RedemptionTiming:
        redeemers = train[train["label"] == 1]
        offsets = np.sort(window_offset(redeemers)) if len(redeemers) else np.array([], float)
        return cls(offsets[~np.isnan(offsets)])

    def share_within(self, s: np.ndarray) -> np.ndarray:
        """F(s) for each observed share s (1 for a fully observed window; 1 with no training redeemers)."""
        s = np.asarray(s, float)
        if self.offsets.size == 0:
            return np.ones_like(s)
        f = np.searchsorted(self.offsets, s + 1e-12, side="right") / self.offsets.size
        return np.where(s >= 1, 1.0, f)


def observed_rows(scored: pd.DataFrame) -> pd.DataFrame:
    """The scored rows of every campaign with something observed (fully or partly), in order."""
    groups = campaign_groups(scored)
    keep = scored["campaign_id"].map(groups).isin([FULL, PARTIAL])
    return scored[keep.to_numpy()]


def observed_window_scores(rows: pd.DataFrame, scores: np.ndarray, timing: RedemptionTiming) -> np.ndarray:
    """The probability of redeeming within the observed part of the window: p x F(share).

    Fully observed rows keep their score (F(1) = 1)."""
    share = np.where(rows["is_censored"].to_numpy(bool), rows["label_observed_share"].to_numpy(float), 1.0)
    return np.asarray(scores, float) * timing.share_within(share)
