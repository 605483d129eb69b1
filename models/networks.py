"""The torch model families. Each maps (numeric [n, d], categorical codes [n, k]) to a logit.

- ``logistic``: logistic regression (one weight per numeric input, one per category level).
- ``mlp``: numeric inputs and category embeddings through a small ReLU network.
- ``wide_deep``: the logistic part plus the MLP on the same inputs, logits summed.
- ``gru``: a GRU over the household's weekly history before the as-of date (``models.sequences``,
  oldest week first), its last state joined with the other inputs in the MLP.
"""

from __future__ import annotations

import torch
from torch import nn

FAMILIES = ("logistic", "mlp", "wide_deep", "gru")
SEQ_HIDDEN = 16  # the GRU's state


class HostSeededDropout(nn.Module):
    """Dropout whose masks come from a CPU generator, so that a seed gives the same masks on
    every device (CUDA's generator draws other numbers than the CPU's: with nn.Dropout a GPU
    run would follow another training path). ``generator`` is set by the trainer."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = torch.rand(x.shape, generator=self.generator) >= self.p
        return x * keep.to(x.device, x.dtype) / (1 - self.p)


class _Embeddings(nn.Module):
    def __init__(self, cardinalities: list[int], dim: int) -> None:
        super().__init__()
        self.tables = nn.ModuleList(nn.Embedding(n, dim) for n in cardinalities)
        self.out_dim = dim * len(cardinalities)

    def forward(self, cat: torch.Tensor) -> torch.Tensor:
        if not self.tables:
            return cat.new_zeros((cat.shape[0], 0), dtype=torch.float32)
        return torch.cat([t(cat[:, i]) for i, t in enumerate(self.tables)], dim=1)


class Logistic(nn.Module):
    def __init__(self, n_numeric: int, cardinalities: list[int]) -> None:
        super().__init__()
        self.linear = nn.Linear(n_numeric, 1)
        self.levels = _Embeddings(cardinalities, 1)  # a weight per category level = one-hot linear

    def forward(self, num: torch.Tensor, cat: torch.Tensor) -> torch.Tensor:
        return self.linear(num).squeeze(1) + self.levels(cat).sum(dim=1)


class MLP(nn.Module):
    def __init__(
        self,
        n_numeric: int,
        cardinalities: list[int],
        hidden: tuple[int, ...] = (64, 32),
        emb_dim: int = 4,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.emb = _Embeddings(cardinalities, emb_dim)
        layers: list[nn.Module] = []
        width = n_numeric + self.emb.out_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), HostSeededDropout(dropout)]
            width = h
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, num: torch.Tensor, cat: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([num, self.emb(cat)], dim=1)).squeeze(1)


class WideAndDeep(nn.Module):
    def __init__(
        self,
        n_numeric: int,
        cardinalities: list[int],
        hidden: tuple[int, ...] = (64, 32),
        emb_dim: int = 4,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.wide = Logistic(n_numeric, cardinalities)
        self.deep = MLP(n_numeric, cardinalities, hidden, emb_dim, dropout)

    def forward(self, num: torch.Tensor, cat: torch.Tensor) -> torch.Tensor:
        return self.wide(num, cat) + self.deep(num, cat)


class GRUNet(nn.Module):
    """A GRU over the sequence columns of the numeric inputs, the MLP over the rest and its state.

    ``layout`` = (first index, weeks, features per week) of the sequence columns (week-major,
    week 1 the most recent); the GRU reads them oldest first."""

    def __init__(
        self,
        n_numeric: int,
        cardinalities: list[int],
        layout: tuple[int, int, int],
        hidden: tuple[int, ...] = (64, 32),
        emb_dim: int = 4,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.start, self.weeks, self.step = layout
        self.gru = nn.GRU(self.step, SEQ_HIDDEN, batch_first=True)
        self.mlp = MLP(n_numeric - self.weeks * self.step + SEQ_HIDDEN, cardinalities, hidden, emb_dim, dropout)

    def forward(self, num: torch.Tensor, cat: torch.Tensor) -> torch.Tensor:
        end = self.start + self.weeks * self.step
        seq = num[:, self.start : end].reshape(num.shape[0], self.weeks, self.step).flip(1)
        _, state = self.gru(seq)
        return self.mlp(torch.cat([num[:, : self.start], num[:, end:], state[-1]], dim=1), cat)


def build(
    family: str,
    n_numeric: int,
    cardinalities: list[int],
    hidden: tuple[int, ...],
    emb_dim: int,
    dropout: float,
    layout: tuple[int, int, int] | None = None,
) -> nn.Module:
    if family == "logistic":
        return Logistic(n_numeric, cardinalities)
    if family == "mlp":
        return MLP(n_numeric, cardinalities, hidden, emb_dim, dropout)
    if family == "wide_deep":
        return WideAndDeep(n_numeric, cardinalities, hidden, emb_dim, dropout)
    if family == "gru":
        if layout is None:
            raise ValueError("the gru family needs the sequence columns (models.sequences.with_sequences)")
        return GRUNet(n_numeric, cardinalities, layout, hidden, emb_dim, dropout)
    raise ValueError(f"unknown model family {family!r}: choose one of {', '.join(FAMILIES)}")
