"""Training the redemption model: deterministic, time-ordered early stopping, calibrated.

``train(examples, config)`` takes labelled rows (one per household x campaign sent, features as of
the campaign's start; labels must be final), holds out the most recent campaigns as a
validation slice (never a random split), fits the preprocessing on the training rows only,
trains with a positive-class weight (redeemers are about one row in ten) and early stopping on
the validation loss, then fits a Platt calibration (a * logit + b) on the validation slice so
that scores are probabilities again. Runs on the GPU when one is available.

A model is one or more member networks whose logits are averaged before the calibration:
``n_members`` trains the family with seeds seed .. seed + n_members - 1 (a seed ensemble; every
member sees the same split and preprocessing, and stops early on its own), and the family
``blend`` trains a logistic regression and an MLP separately for each of those seeds (unlike
``wide_deep``, which trains the two jointly).
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
from models.affinity import FEATURES as AFFINITY_FEATURES
from models.affinity import K as AFFINITY_K
from models.evaluation import all_metrics, reliability_table
from models.features import Preprocessor, feature_columns
from models.sequences import COLUMNS as SEQUENCE_COLUMNS
from models.sequences import sequence_layout

LABEL = "label"
WEIGHTS_FORMAT = "members-v1"
FAMILIES = networks.FAMILIES + ("blend",)


@dataclass(frozen=True)
class TrainConfig:
    # defaults chosen at the tuning cut 2017-05-08 (benchmarks/model_tuning.py, sections 2 and 3
    # of results_model_tuning.txt: the highest mean within-campaign AUC over seeds, ties broken by
    # spread and log loss), never at the cuts the quality benchmark reports
    family: str = "mlp"
    hidden: tuple[int, ...] = (256, 128)
    emb_dim: int = 4
    dropout: float = 0.3
    lr: float | None = None  # None: 0.001 for the logistic regression, 0.003 for the networks
    weight_decay: float = 1e-4
    batch_size: int = 256
    max_epochs: int = 200
    patience: int = 20
    validation_share: float = 0.10  # of the redeemers, in the most recent campaigns
    seed: int = 0
    use_demographics: bool = False
    n_members: int = 5  # seed ensemble: members trained with seeds seed .. seed + n_members - 1
    affinity: bool = False  # also the affinity embeddings' features (models.affinity; rows need them)
    # the factors the affinity features are built with, stored with the version so that scoring it
    # builds them as its training did (a version written before this field was trained with 16)
    affinity_k: int = AFFINITY_K

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"unknown model family {self.family!r}: choose one of {', '.join(FAMILIES)}")
        if self.n_members < 1:
            raise ValueError(f"n_members must be at least 1, not {self.n_members}")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        # a version written before n_members existed holds exactly one network
        return cls(**{"n_members": 1, **d, "hidden": tuple(d["hidden"])})

    def members(self) -> list[tuple[str, int]]:
        """(network family, seed) of each member, in the order their weights are saved."""
        families = ["logistic", "mlp"] if self.family == "blend" else [self.family]
        return [(f, self.seed + i) for i in range(self.n_members) for f in families]

    def learning_rate(self, family: str) -> float:
        return self.lr or (0.001 if family == "logistic" else 0.003)


def _build(config: TrainConfig, family: str, pre: Preprocessor) -> torch.nn.Module:
    return networks.build(
        family,
        pre.n_numeric_inputs,
        pre.cardinalities,
        config.hidden,
        config.emb_dim,
        config.dropout,
        sequence_layout(pre.numeric),
    )


@dataclass
class RedemptionModel:
    config: TrainConfig
    preprocessor: Preprocessor
    networks: list[torch.nn.Module]  # one per entry of config.members(), logits averaged
    calibration: tuple[float, float] = (1.0, 0.0)
    info: dict[str, Any] = field(default_factory=dict)  # training window, epochs, validation metrics

    @property
    def features(self) -> list[str]:
        return self.preprocessor.numeric + self.preprocessor.categorical

    def logits(self, df: pd.DataFrame) -> np.ndarray:
        """The members' mean logit (float64), before calibration."""
        num, cat = self.preprocessor.transform(df)
        xn, xc = torch.from_numpy(num), torch.from_numpy(cat)
        total = np.zeros(len(df))
        with torch.no_grad():
            for net in self.networks:
                net.eval()
                total += net(xn, xc).double().numpy()
        return total / len(self.networks)

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        """Calibrated P(redeem) for each row."""
        a, b = self.calibration
        return 1.0 / (1.0 + np.exp(-(a * self.logits(df) + b)))

    # -- serialisation: weights as torch bytes, everything else as JSON -----------------------
    # weights.pt holds {"format": WEIGHTS_FORMAT, "members": [state_dict, ...]} in the order of
    # config.members(); a version written before ensembles holds one bare state dict.
    def weights_bytes(self) -> bytes:
        buf = io.BytesIO()
        torch.save({"format": WEIGHTS_FORMAT, "members": [net.state_dict() for net in self.networks]}, buf)
        return buf.getvalue()

    def spec(self) -> dict[str, Any]:
        return {
            "config": asdict(self.config),
            "preprocessor": self.preprocessor.to_dict(),
            "members": [{"family": f, "seed": s} for f, s in self.config.members()],
            "weights_format": WEIGHTS_FORMAT,
            "calibration": list(self.calibration),
            "info": self.info,
        }

    @classmethod
    def load(cls, spec: dict[str, Any], weights: bytes) -> RedemptionModel:
        config = TrainConfig.from_dict(spec["config"])
        pre = Preprocessor.from_dict(spec["preprocessor"])
        saved = torch.load(io.BytesIO(weights), weights_only=True)
        if spec.get("weights_format") is None:  # written before ensembles: one bare state dict
            states = [saved]
        elif saved.get("format") == spec["weights_format"] == WEIGHTS_FORMAT:
            states = saved["members"]
        else:
            raise ValueError(
                f"weights format {saved.get('format')!r} (model.json says "
                f"{spec['weights_format']!r}) is not one this code reads ({WEIGHTS_FORMAT!r})"
            )
        members = config.members()
        if len(states) != len(members):
            raise ValueError(f"weights hold {len(states)} networks, the configuration {len(members)}")
        nets = []
        for (family, _), state in zip(members, states):
            net = _build(config, family, pre)
            net.load_state_dict(state)
            nets.append(net.eval())
        return cls(config, pre, nets, tuple(spec["calibration"]), spec.get("info", {}))


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def time_ordered_split(examples: pd.DataFrame, share: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validation = the most recent campaigns (by start) holding at least ``share`` of the redeemers.

    Counting redeemers rather than rows keeps one large Type A campaign (most of the positives
    of any window) from being swallowed whole by validation whenever it happens to be recent.
    """
    starts = examples.groupby("campaign_id")["as_of_date"].first().sort_values(kind="stable")
    positives = examples.groupby("campaign_id")[LABEL].sum()
    valid: list[int] = []
    pos = 0
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


def train(
    examples: pd.DataFrame, config: TrainConfig = TrainConfig(), device: torch.device | None = None
) -> RedemptionModel:
    """Train one model on labelled, final rows."""
    if LABEL not in examples or examples[LABEL].isna().any():
        raise ValueError("every training row needs a final 0/1 label")
    if "label_is_final" in examples and not examples["label_is_final"].all():
        raise ValueError("training rows include censored labels: keep only fully observed campaigns")
    device = device or default_device()
    train_df, valid_df = time_ordered_split(examples, config.validation_share)
    numeric, categorical = feature_columns(config.use_demographics)
    if config.affinity:
        numeric += list(AFFINITY_FEATURES)
    if "gru" in (f for f, _ in config.members()):
        numeric += list(SEQUENCE_COLUMNS)  # the weekly history (models.sequences), last and contiguous
    pre = Preprocessor.fit(train_df, numeric, categorical)

    def tensors(df: pd.DataFrame):
        num, cat = pre.transform(df)
        y = df[LABEL].to_numpy(dtype=np.float32)
        return (torch.from_numpy(num).to(device), torch.from_numpy(cat).to(device), torch.from_numpy(y).to(device))

    data = tensors(train_df), tensors(valid_df)
    nets, runs = [], []
    for family, seed in config.members():
        net, best_epoch, epochs = _fit_member(config, family, seed, pre, data, device)
        nets.append(net)
        runs.append({"family": family, "seed": seed, "best_epoch": best_epoch, "epochs": epochs})

    model = RedemptionModel(config, pre, nets)
    v_logits = model.logits(valid_df)
    v_y = valid_df[LABEL].to_numpy(dtype=float)
    model.calibration = _platt(v_logits, v_y)
    v_p = model.predict(valid_df)
    model.info = {
        "train_rows": len(train_df),
        "train_positives": int(train_df[LABEL].sum()),
        "train_campaigns": sorted(int(c) for c in train_df["campaign_id"].unique()),
        "validation_campaigns": sorted(int(c) for c in valid_df["campaign_id"].unique()),
        "train_window": [str(examples["as_of_date"].min())[:10], str(examples["as_of_date"].max())[:10]],
        "best_epoch": runs[0]["best_epoch"],
        "members": runs,
        "epochs": sum(r["epochs"] for r in runs),
        "device": str(device),
        "validation": all_metrics(v_y, v_p, valid_df["campaign_id"].to_numpy()),
        "reliability": reliability_table(v_y, v_p, bins=5),
    }
    return model


def _fit_member(
    config: TrainConfig,
    family: str,
    seed: int,
    pre: Preprocessor,
    data,
    device: torch.device,
) -> tuple[torch.nn.Module, int, int]:
    """One network, early-stopped on the validation loss: (network on the CPU, best epoch, epochs run)."""
    (xn, xc, y), (vn, vc, vy) = data
    torch.manual_seed(seed)
    net = _build(config, family, pre).to(device)
    n_pos = float(y.sum())
    pos_weight = torch.tensor(np.sqrt((len(y) - n_pos) / max(n_pos, 1.0)), dtype=torch.float32, device=device)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    opt = torch.optim.Adam(net.parameters(), lr=config.learning_rate(family), weight_decay=config.weight_decay)
    gen = torch.Generator().manual_seed(seed)  # batch order, on the CPU for every device
    drop_gen = torch.Generator().manual_seed(seed + 1)  # dropout masks, likewise
    for module in net.modules():
        if isinstance(module, networks.HostSeededDropout):
            module.generator = drop_gen

    best, best_state, best_epoch, stale, epochs = float("inf"), copy.deepcopy(net.state_dict()), 0, 0, 0
    for epoch in range(config.max_epochs):
        epochs = epoch + 1
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
    return net.to("cpu").eval(), best_epoch, epochs
