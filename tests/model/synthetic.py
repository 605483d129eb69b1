"""Training examples where the truth is known: labels drawn from a known function of two features."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from models.features import DEMOGRAPHIC_CATEGORICALS, NUMERIC_FEATURES


def true_probability(df: pd.DataFrame) -> np.ndarray:
    logit = -2.2 + 1.6 * df["aff_spend_all"].to_numpy() + 1.0 * df["coupon_lines_all"].to_numpy()
    return 1 / (1 + np.exp(-logit))


def make_examples(n_campaigns: int = 8, per_campaign: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for c in range(n_campaigns):
        start = date(2017, 2, 1) + timedelta(days=21 * c)
        df = pd.DataFrame(rng.normal(size=(per_campaign, len(NUMERIC_FEATURES))), columns=list(NUMERIC_FEATURES))
        df["days_since_last_redemption"] = df["days_since_last_redemption"].where(rng.random(per_campaign) > 0.3)
        df["household_id"] = rng.choice(5000, per_campaign, replace=False)
        df["campaign_id"] = c + 1
        df["as_of_date"] = pd.Timestamp(start)
        df["end_date"] = pd.Timestamp(start + timedelta(days=30))
        df["campaign_type"] = ["Type A", "Type B", "Type C"][c % 3]
        df["main_department"] = "GROCERY"
        for col in DEMOGRAPHIC_CATEGORICALS:
            df[col] = rng.choice(["a", "b", None], per_campaign)
        # the v0 rule's history facts carry no signal here
        df["campaigns_received"] = rng.integers(0, 5, per_campaign)
        df["campaigns_redeemed"] = np.minimum(rng.integers(0, 2, per_campaign), df["campaigns_received"])
        df["label"] = (rng.random(per_campaign) < true_probability(df)).astype(int)
        df["label_is_final"] = True
        df["is_censored"] = False
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def make_history(n_households: int = 40, days: int = 90, seed: int = 0):
    """A household_category_days history (2017-01-01 onwards) with two kinds of household:
    the first half buys categories A and B together, the second half C and D; E is bought by
    all; coupon lines now and then. With ``campaign_categories`` of a campaign 1 on A and a
    campaign 2 on C."""
    from models.history import COLUMNS, History

    rng = np.random.default_rng(seed)
    rows = []
    for h in range(1, n_households + 1):
        likes = ("A", "B") if h <= n_households // 2 else ("C", "D")
        for d in range(days):
            if rng.random() < 0.3:
                day = pd.Timestamp("2017-01-01") + pd.Timedelta(days=d)
                for cat in (*likes, "E"):
                    if rng.random() < 0.6:
                        rows.append((h, day, cat, "GROCERY", float(rng.gamma(2.0, 3.0)), 1, int(rng.random() < 0.1)))
    days_df = pd.DataFrame(
        rows,
        columns=list(COLUMNS),
    )
    campaigns = pd.DataFrame({"campaign_id": [1, 2], "product_category": ["A", "C"], "n_products": [3, 2]})
    return History(days_df, campaigns)
