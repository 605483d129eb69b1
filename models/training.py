"""Training the redemption model: deterministic, time-ordered early stopping, calibrated.

``train(examples, config)`` takes labelled rows (one per household x campaign sent, features as of
the campaign's start; labels must be final), holds out the most recent campaigns as a
validation slice (never a random split), fits the preprocessing on the training rows only,
trains with a positive-class weight (redeemers are about one row in ten) and early stopping on
the validation loss, then fits a Platt calibration (a * logit + b) on the validation slice so
that scores are probabilities again. Runs on the GPU when one is available.
"""

from __future__ import annotations

import copy
import io
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.optimize import minimize

from models import networks
from models.evaluation import all_metrics, reliability_table
from models.features import Preprocessor, feature_columns

LABEL = "label"


@dataclass(frozen=True)
class TrainConfig:
    # defaults chosen at the tuning cut 2017-05-08 (benchmarks/model_tuning.py), never at the
    # cuts the quality benchmark reports
    family: str = "mlp"
    hidden: tuple[int, ...] = (64, 32)
    emb_dim: int = 4
    dropout: float = 0.1
    lr: float | None = None  # None: 0.001 for the logistic regression, 0.003 for the networks
    weight_decay: float = 1e-4
    batch_size: int = 256
    max_epochs: int = 200
    patience: int = 20
    validation_share: float = 0.10  # of the redeemers, in the most recent campaigns
    seed: int = 0
    use_demographics: bool = False

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        return cls(**{**d, "hidden": tuple(d.get("hidden", cls.hidden))})


@dataclass
class RedemptionModel:
    config: TrainConfig
    preprocessor: Preprocessor
    network: torch.nn.Module
    calibration: tuple[float, float] = (1.0, 0.0)
    info: dict[str, Any] = field(default_factory=dict)  # training window, epochs, validation metrics

    @property
    def features(self) -> list[str]:
        return self.preprocessor.numeric + self.preprocessor.categorical

    def logits(self, df: pd.DataFrame) -> np.ndarray:
        num, cat = self.preprocessor.transform(df)
        self.network.eval()
        with torch.no_grad():
            out = self.network(torch.from_numpy(num), torch.from_numpy(cat))
        return out.double().numpy()

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        """Calibrated P(redeem) for each row."""
        a, b = self.calibration
        return 1.0 / (1.0 + np.exp(-(a * self.logits(df) + b)))

    # -- serialisation: weights as torch bytes, everything else as JSON -----------------------
    def weights_bytes(self) -> bytes:
        buf = io.BytesIO()
        torch.save(self.network.state_dict(), buf)
        return buf.getvalue()

    def spec(self) -> dict[str, Any]:
        return {"config": asdict(self.config), "preprocessor": self.preprocessor.to_dict(),
                "calibration": list(self.calibration), "info": self.info}

    @classmethod
    def load(cls, spec: dict[str, Any], weights: bytes) -> "RedemptionModel":
        config = TrainConfig.from_dict(spec["config"])
        pre = Preprocessor.from_dict(spec["preprocessor"])
        net = networks.build(config.family, pre.n_numeric_inputs, pre.cardinalities,
                             config.hidden, config.emb_dim, config.dropout)
        net.load_state_dict(torch.load(io.BytesIO(weights), weights_only=True))
        net.eval()
        return cls(config, pre, net, tuple(spec["calibration"]), spec.get("info", {}))


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def time_ordered_split(examples: pd.DataFrame, share: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validation = the most recent campaigns (by start) holding at least ``share`` of the redeemers.

    Counting redeemers rather than rows keeps one large Type A campaign (most of the positives
    of any window) from being swallowed whole by validation whenever it happens to be recent.
    """
    starts = examples.groupby("campaign_id")["as_of_date"].first().sort_values(kind="stable")
    positives = examples.groupby("campaign_id")[LABEL].sum()
    valid, pos = [], 0
    for cid in reversed(starts.index.tolist()):
        if pos >= share * positives.sum() and valid:
            break
        valid.append(cid)
        pos += int(positives[cid])
    if len(valid) == len(starts):
        raise ValueError("need at least two campaigns to split training from validation by time")
    is_valid = examples["campaign_id"].isin(valid)
    return examples[~is_valid], examples[is_valid]


def _platt(logits: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if y.sum() < 5 or (1 - y).sum() < 5:
        return 1.0, 0.0

    def loss(ab: np.ndarray) -> float:
        z = ab[0] * logits + ab[1]
        return float(np.mean(np.logaddexp(0, z) - y * z))

    res = minimize(loss, x0=np.array([1.0, 0.0]), method="L-BFGS-B")
    return float(res.x[0]), float(res.x[1])


def train(examples: pd.DataFrame, config: TrainConfig = TrainConfig(),
          device: torch.device | None = None) -> RedemptionModel:
    """Train one model on labelled, final rows."""
    if LABEL not in examples or examples[LABEL].isna().any():
        raise ValueError("every training row needs a final 0/1 label")
    if "label_is_final" in examples and not examples["label_is_final"].all():
        raise ValueError("training rows include censored labels: keep only fully observed campaigns")
    device = device or default_device()
    train_df, valid_df = time_ordered_split(examples, config.validation_share)
    numeric, categorical = feature_columns(config.use_demographics)
    pre = Preprocessor.fit(train_df, numeric, categorical)

    torch.manual_seed(config.seed)
    net = networks.build(config.family, pre.n_numeric_inputs, pre.cardinalities,
                         config.hidden, config.emb_dim, config.dropout).to(device)

    def tensors(df: pd.DataFrame):
        num, cat = pre.transform(df)
        y = df[LABEL].to_numpy(dtype=np.float32)
        return (torch.from_numpy(num).to(device), torch.from_numpy(cat).to(device),
                torch.from_numpy(y).to(device))

    xn, xc, y = tensors(train_df)
    vn, vc, vy = tensors(valid_df)
    n_pos = float(y.sum())
    pos_weight = torch.tensor(np.sqrt((len(y) - n_pos) / max(n_pos, 1.0)), dtype=torch.float32, device=device)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    lr = config.lr or (0.001 if config.family == "logistic" else 0.003)
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=config.weight_decay)
    gen = torch.Generator().manual_seed(config.seed)  # batch order, on the CPU for every device
    drop_gen = torch.Generator().manual_seed(config.seed + 1)  # dropout masks, likewise
    for module in net.modules():
        if isinstance(module, networks.HostSeededDropout):
            module.generator = drop_gen

    best, best_state, best_epoch, stale = float("inf"), copy.deepcopy(net.state_dict()), 0, 0
    for epoch in range(config.max_epochs):
        net.train()
        for idx in torch.randperm(len(y), generator=gen).split(config.batch_size):
            idx = idx.to(device)
            opt.zero_grad()
            loss_fn(net(xn[idx], xc[idx]), y[idx]).backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            val = float(loss_fn(net(vn, vc), vy))
        if val < best - 1e-6:
            best, best_state, best_epoch, stale = val, copy.deepcopy(net.state_dict()), epoch + 1, 0
        else:
            stale += 1
            if stale >= config.patience:
                break
    net.load_state_dict(best_state)
    net = net.to("cpu").eval()

    model = RedemptionModel(config, pre, net)
    v_logits = model.logits(valid_df)
    v_y = valid_df[LABEL].to_numpy(dtype=float)
    model.calibration = _platt(v_logits, v_y)
    v_p = model.predict(valid_df)
    model.info = {
        "train_rows": len(train_df), "train_positives": int(train_df[LABEL].sum()),
        "train_campaigns": sorted(int(c) for c in train_df["campaign_id"].unique()),
        "validation_campaigns": sorted(int(c) for c in valid_df["campaign_id"].unique()),
        "train_window": [str(examples["as_of_date"].min())[:10], str(examples["as_of_date"].max())[:10]],
        "best_epoch": best_epoch, "device": str(device),
        "validation": all_metrics(v_y, v_p, valid_df["campaign_id"].to_numpy()),
        "reliability": reliability_table(v_y, v_p, bins=5),
    }
    return model
