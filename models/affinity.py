"""Affinity embeddings: household and product-category factors from who buys what, as of S.

For an as-of date S, the household x category spend matrix of everything dated before S
(``models.history.before``) is factorised by a truncated SVD: each cell is log1p(spend), each
household's row scaled to unit length (so that a big spender's volume does not decide the
factors, its mix does), and X ~ U S V^T with k factors. A household's vector is its row of
U S, a category's its row of V; a campaign's vector is the mean of its coupon products'
categories' rows of V, weighted by how many of its coupon products fall in each
(``campaign_categories``). The features of a (household, campaign) pair at S:

* ``emb_affinity_score``: the reconstructed (smoothed) spend mix of the household on the
  campaign's categories, u . q: collaborative filtering, it is high for categories that
  households who buy like it buy, even when it never bought them;
* ``emb_affinity_cosine``: the cosine of u and q, the same affinity blind to how well the
  factors describe the household.

Both are invariant to the rotation and signs of the factors, which is why the factorisation
can be refitted for every as-of date (a new S gives another basis; a raw factor would mean
something else at every date, these features do not). The factorisation is deterministic (an
eigendecomposition of the small Gram matrix X^T X, signs fixed) and cheap: the matrix as of one
date (2,452 households x 302 categories at 2017-10-30) is summed and factorised in tens of
milliseconds on an idle core (benchmarks/model_quality.py prints it), so nothing needs storing across
runs: scoring day D factorises the matrix as of D only. Households with no purchase before S get NaN
(the preprocessing's missing flag), and so do campaigns none of whose categories was bought.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.history import History

K = 16  # factors
FEATURES: tuple[str, ...] = ("emb_affinity_score", "emb_affinity_cosine")


@dataclass(frozen=True)
class Factors:
    households: np.ndarray  # sorted household ids, one per row of ``household_vectors``
    categories: np.ndarray  # sorted category names, one per row of ``category_vectors``
    household_vectors: np.ndarray  # [n_households, k] = U S
    category_vectors: np.ndarray  # [n_categories, k] = V
    singular_values: np.ndarray


def spend_matrix(history: History, as_of: pd.Timestamp | str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(household ids, categories, X) of the rows dated before ``as_of``: X[i, j] = log1p(spend of
    household i on category j), each row scaled to unit length; only households with a positive
    spend and categories someone spent on, both sorted (the same rows give the same X)."""
    code = history.coded
    m = code.before(as_of)
    n_c = len(code.categories)
    flat = code.household[m] * n_c + code.category[m]
    sums = np.bincount(flat, weights=code.spend[m], minlength=len(code.households) * n_c)
    x = sums.reshape(len(code.households), n_c)
    rows, cols = (x > 0).any(axis=1), (x > 0).any(axis=0)
    x = np.log1p(np.clip(x[rows][:, cols], 0, None))
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return code.households[rows], code.categories[cols], x / np.where(norm > 0, norm, 1.0)


def fit_factors(history: History, as_of: pd.Timestamp | str, k: int = K) -> Factors:
    """The truncated SVD of the spend matrix as of ``as_of`` (rows dated before it only)."""
    households, categories, x = spend_matrix(history, as_of)
    if x.size == 0:
        return Factors(
            households, categories, np.zeros((len(households), 0)), np.zeros((len(categories), 0)), np.zeros(0)
        )
    # the right singular vectors and values from the Gram matrix X^T X (categories x categories:
    # they are few): the same factors as a full SVD, a fraction of its time, and U S = X V
    eigenvalues, vectors = np.linalg.eigh(x.T @ x)
    k = min(k, len(eigenvalues))
    order = np.argsort(-eigenvalues, kind="stable")[:k]
    v, s = vectors[:, order], np.sqrt(np.clip(eigenvalues[order], 0, None))
    # a singular vector's sign is arbitrary: fix it so that the largest |entry| of each v is positive
    signs = np.sign(v[np.argmax(np.abs(v), axis=0), np.arange(k)])
    signs[signs == 0] = 1.0
    v = v * signs
    return Factors(households, categories, x @ v, v, s)


def campaign_vectors(factors: Factors, campaign_categories: pd.DataFrame) -> dict[int, np.ndarray]:
    """campaign_id -> the product-weighted mean of its categories' vectors (categories unseen
    before the as-of date left out; a campaign with none has no vector)."""
    index = {c: i for i, c in enumerate(factors.categories)}
    out: dict[int, np.ndarray] = {}
    for cid, g in campaign_categories.groupby("campaign_id", sort=True):
        pos = [index.get(str(c), -1) for c in g["product_category"]]
        w = g["n_products"].to_numpy(dtype=float)
        known = np.array(pos) >= 0
        if known.any():
            w = w[known] / w[known].sum()
            out[int(cid)] = w @ factors.category_vectors[np.array(pos)[known]]
    return out


def features_as_of(pairs: pd.DataFrame, history: History, as_of: pd.Timestamp | str, k: int = K) -> pd.DataFrame:
    """The affinity features of (household_id, campaign_id) ``pairs`` as of one date, aligned with ``pairs``."""
    factors = fit_factors(history, as_of, k)
    q = campaign_vectors(factors, history.campaign_categories)
    row = {h: i for i, h in enumerate(factors.households.tolist())}
    score = np.full(len(pairs), np.nan)
    cosine = np.full(len(pairs), np.nan)
    for n, (h, c) in enumerate(zip(pairs["household_id"].tolist(), pairs["campaign_id"].tolist())):
        i, qc = row.get(h), q.get(int(c))
        if i is None or qc is None:
            continue
        u = factors.household_vectors[i]
        score[n] = float(u @ qc)
        denom = float(np.linalg.norm(u) * np.linalg.norm(qc))
        cosine[n] = score[n] / denom if denom > 0 else 0.0
    return pd.DataFrame({"emb_affinity_score": score, "emb_affinity_cosine": cosine}, index=pairs.index)


def with_affinity(examples: pd.DataFrame, history: History, k: int = K) -> pd.DataFrame:
    """``examples`` (household_id, campaign_id, as_of_date, ...) with the affinity features, each
    row's computed from the factorisation as of its own as_of_date."""
    parts = [features_as_of(group, history, as_of, k) for as_of, group in examples.groupby("as_of_date", sort=True)]
    feats = pd.concat(parts).reindex(examples.index) if parts else pd.DataFrame(index=examples.index, columns=FEATURES)
    return examples.drop(columns=[c for c in FEATURES if c in examples.columns]).join(feats)
