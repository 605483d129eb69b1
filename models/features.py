"""The model's inputs and their preprocessing, fitted on training rows only.

``Preprocessor.fit(train)`` learns, per numeric feature: whether it needs a missing flag, the
median used to impute, whether it is skewed enough to take ``log1p``, and the mean and standard
deviation to standardise; per categorical feature: its vocabulary (index 0 = unknown/missing).
Everything it learned is plain JSON (``to_dict`` / ``from_dict``), saved with the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

# numeric facts of offer_features (as of the campaign's start); see the marts' yml for meaning
NUMERIC_FEATURES: tuple[str, ...] = (
    "duration_days",
    "n_coupons",
    "n_products",
    "planned_size",
    "expected_discount",
    "days_since_last_purchase",
    "days_since_first_purchase",
    "baskets_per_week_30d",
    "baskets_per_week_90d",
    "baskets_per_week_all",
    "spend_per_week_30d",
    "spend_per_week_90d",
    "spend_per_week_all",
    "avg_basket_value_90d",
    "avg_basket_value_all",
    "share_baskets_with_coupon",
    "n_stores",
    "n_products_90d",
    "n_products_all",
    "n_departments",
    "coupon_lines_all",
    "coupon_lines_90d",
    "coupon_discount_all",
    "retail_disc_share",
    "private_label_share",
    "dept_share_grocery",
    "dept_share_drug_gm",
    "dept_share_produce",
    "dept_share_meat",
    "dept_share_deli",
    "dept_share_fuel",
    "dept_share_pastry",
    "dept_share_other",
    "campaigns_received",
    "campaigns_received_type_a",
    "campaigns_received_type_b",
    "campaigns_received_type_c",
    "campaigns_redeemed",
    "redemptions_all",
    "redemptions_90d",
    "days_since_last_redemption",
    "aff_products_all",
    "aff_products_90d",
    "aff_products_30d",
    "aff_baskets_all",
    "aff_baskets_90d",
    "aff_coupons_touched_all",
    "aff_coupons_touched_90d",
    "aff_coupon_baskets_all",
    "aff_spend_all",
    "aff_spend_90d",
    "aff_spend_share_all",
    "aff_products_share",
    "aff_coupons_touched_share",
    "same_coupons_redeemed",
)
CAMPAIGN_CATEGORICALS: tuple[str, ...] = ("campaign_type", "main_department")
DEMOGRAPHIC_CATEGORICALS: tuple[str, ...] = (
    "age",
    "income",
    "home_ownership",
    "marital_status",
    "household_size",
    "household_comp",
    "kids_count",
)

SKEW_THRESHOLD = 2.0  # |skewness| on the training rows above which a non-negative feature is log1p'd
CLIP = 5.0  # standardised values are clipped to [-CLIP, CLIP]: no wild extrapolation off the training range


def feature_columns(use_demographics: bool) -> tuple[list[str], list[str]]:
    cats = list(CAMPAIGN_CATEGORICALS) + (list(DEMOGRAPHIC_CATEGORICALS) if use_demographics else [])
    return list(NUMERIC_FEATURES), cats


@dataclass
class Preprocessor:
    numeric: list[str]
    categorical: list[str]
    missing_flag: list[str] = field(default_factory=list)
    median: dict[str, float] = field(default_factory=dict)
    log1p: list[str] = field(default_factory=list)
    mean: dict[str, float] = field(default_factory=dict)
    std: dict[str, float] = field(default_factory=dict)
    vocab: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def fit(cls, train: pd.DataFrame, numeric: list[str], categorical: list[str]) -> Preprocessor:
        missing = [c for c in numeric if c not in train.columns] + [c for c in categorical if c not in train.columns]
        if missing:
            raise ValueError(f"training rows lack feature columns {missing}: rebuild the marts (dbt build)")
        p = cls(list(numeric), list(categorical))
        for col in numeric:
            x = train[col].astype(float).to_numpy()
            if np.isnan(x).any():
                p.missing_flag.append(col)
            finite = x[~np.isnan(x)]
            p.median[col] = float(np.median(finite)) if finite.size else 0.0
            x = np.where(np.isnan(x), p.median[col], x)
            if x.min() >= 0 and _skewness(x) > SKEW_THRESHOLD:
                p.log1p.append(col)
                x = np.log1p(x)
            p.mean[col] = float(x.mean())
            p.std[col] = float(x.std()) or 1.0
        for col in categorical:
            values = train[col].astype("string").fillna("").to_numpy()
            p.vocab[col] = sorted({str(v) for v in values if v})
        return p

    @property
    def n_numeric_inputs(self) -> int:
        return len(self.numeric) + len(self.missing_flag)

    @property
    def cardinalities(self) -> list[int]:
        return [len(self.vocab[c]) + 1 for c in self.categorical]

    def transform(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(numeric matrix float32 [n, n_numeric_inputs], categorical codes int64 [n, n_cat])."""
        missing = [c for c in self.numeric + self.categorical if c not in df.columns]
        if missing:
            raise ValueError(f"rows lack the model's feature columns {missing}: the marts and the model disagree")
        cols = []
        for col in self.numeric:
            x = df[col].astype(float).to_numpy()
            nan = np.isnan(x)
            x = np.where(nan, self.median[col], x)
            if col in self.log1p:
                x = np.log1p(np.clip(x, 0, None))
            cols.append(np.clip((x - self.mean[col]) / self.std[col], -CLIP, CLIP))
        for col in self.missing_flag:
            cols.append(df[col].isna().to_numpy().astype(float))
        num = np.column_stack(cols).astype(np.float32) if cols else np.zeros((len(df), 0), np.float32)
        cats = []
        for col in self.categorical:
            index = {v: i + 1 for i, v in enumerate(self.vocab[col])}
            values = df[col].astype("string").fillna("").to_numpy()
            cats.append(np.array([index.get(str(v), 0) for v in values], dtype=np.int64))
        cat = np.column_stack(cats) if cats else np.zeros((len(df), 0), np.int64)
        return num, cat

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Preprocessor:
        return cls(**d)


def _skewness(x: np.ndarray) -> float:
    sd = x.std()
    return float(((x - x.mean()) ** 3).mean() / sd**3) if sd > 0 else 0.0
