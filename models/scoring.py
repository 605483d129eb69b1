"""Scoring with any model version: v0 (the rule) or a trained torch model from the registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from models import champion_v0
from models.registry import V0, Registry


@dataclass
class Scorer:
    version: str
    kind: str  # "rule" | "torch"
    predict: Callable[[pd.DataFrame], np.ndarray]
    card: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """What a campaign manifest and the report say about the model in use."""
        out = {"version": self.version, "kind": self.kind, "cold_start": self.version == V0}
        if self.version == V0:
            out["description"] = champion_v0.DESCRIPTION
        else:
            card = self.card.get("card", {})
            out["description"] = f"{self.card['config']['family']} (torch)"
            out["holdout_metrics"] = card.get("holdout_metrics", {})
            out["trained_on"] = self.card.get("info", {}).get("train_window")
        return out


def v0_scorer(prior_strength: float) -> Scorer:
    def predict(df: pd.DataFrame) -> np.ndarray:
        return champion_v0.smoothed_redemption_rate(
            df["campaigns_received"].to_numpy(dtype=float),
            df["campaigns_redeemed"].to_numpy(dtype=float),
            prior_strength,
        )[0]

    return Scorer(V0, "rule", predict)


def load_scorer(registry: Registry, version: str, prior_strength: float) -> Scorer:
    if version == V0:
        return v0_scorer(prior_strength)
    model = registry.load(version)
    return Scorer(version, "torch", model.predict, registry.card(version))
