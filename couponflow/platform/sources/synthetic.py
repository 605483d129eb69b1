"""A synthetic grocery world of any number of households, generated from a seed.

``COUPONFLOW_SOURCE=synthetic`` (with ``COUPONFLOW_SYNTH_HOUSEHOLDS`` and ``COUPONFLOW_SYNTH_SEED``)
lands the raw tables of this world under exactly the landing contract. Every distribution is
read from ``synthetic_params.json`` beside this file, fitted to the real Complete Journey year by
``benchmarks/fit_synthetic.py`` (each block of the file says how); nothing is read from the real
data at run time.

The world:

* **households** (ids 1..N): a shopping rate (baskets per day, log-normal), a mean basket size
  (lines per basket, log-normal), a department mix (Dirichlet around the real shares), a price
  sensitivity (share of lines bought on a retail discount, Beta), a coupon proneness (Beta), a
  home store; about a third have a demographics row (the real joint combinations).
* **a day**: each household shops Poisson(rate x weekday factor) baskets; a basket has
  1 + Poisson((m - 1) G) lines, each line a department from the household's mix and a product of
  that department by popularity; quantities, shelf prices and retail discounts as in the real year.
* **campaigns** of types A/B/C with the real durations, sizes (as a share of households), coupons
  per campaign and products per coupon, one every few days (the real gaps between starts), each
  sent to recipients the world draws itself (weighted towards frequent shoppers, as the real
  retailer did): so its redemptions never answer our sends (``answers_our_sends = False``).
* **the response** to a coupon is a separate component, ``CouponResponse`` (default
  ``ProneResponse``: P(redeem) = the household's proneness scaled to the campaign type's real
  rate). A redemption also puts a coupon-discounted line of a coupon product in that day's basket.
  A closed-loop world replaces the recipients (our sends) and the response (a known truth).

Streaming and determinism: nothing holds a year. A day's rows come from a generator seeded by
(seed, day), a household's lasting state from (seed, block of 1,024 households) — so household
h is the same household in a world of any size — and the campaigns, their coupons, recipients and
responses from (seed, campaign). The same seed gives the same bytes of every day in any order of
asking; memory grows with households (their state, about 150 bytes each) and campaigns, never
with the days generated.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from importlib.resources import files
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from couponflow.platform.contract import RAW_TABLES
from couponflow.platform.sources.base import calendar

PARAMS_FILE = "synthetic_params.json"
BLOCK = 1024  # households whose lasting state shares one generator
MAX_BASKETS_PER_DAY = 9  # a day's baskets of one household (basket ids leave room for 9)
HOUSEHOLD_ID_LIMIT = 100_000_000  # basket ids interleave day, basket and household below this
PRODUCT_ID_BASE = 1_000_000
COUPON_UPC_BASE = 50_000_000_000

# one stream per kind of draw: a draw of one kind never shifts the draws of another
_HOUSEHOLD, _CATALOGUE, _CALENDAR, _COUPONS, _RECIPIENTS, _RESPONSE, _DAY, _DEMOGRAPHICS = range(1, 9)


def load_params() -> dict[str, Any]:
    """The fitted parameters checked in beside this module."""
    return json.loads((files(__package__) / PARAMS_FILE).read_text())


def _rng(seed: int, stream: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng([stream, *keys, seed % 2**63])


def _draw(rng: np.random.Generator, values: Sequence[Any], n: int | None = None) -> Any:
    """Uniform draws from an empirical list (the real campaigns' durations, sizes, ...)."""
    idx = rng.integers(0, len(values), size=n)
    return [values[i] for i in idx] if n is not None else values[int(idx)]


@dataclass(frozen=True)
class Campaign:
    campaign_id: int
    campaign_type: str
    start: date
    end: date  # inclusive
    planned_size: int
    coupon_upcs: np.ndarray  # int64
    coupon_products: tuple[np.ndarray, ...]  # products of each coupon, aligned with coupon_upcs


@dataclass(frozen=True)
class Redemptions:
    household_id: np.ndarray
    coupon_upc: np.ndarray
    day: np.ndarray  # datetime64[D]


class CouponResponse(Protocol):
    """How recipients answer a campaign: the swappable part a closed-loop world replaces."""

    def __call__(
        self, campaign: Campaign, recipients: np.ndarray, proneness: np.ndarray, rng: np.random.Generator
    ) -> Redemptions: ...


class ProneResponse:
    """P(a recipient redeems) = its proneness x (type's real rate / mean proneness), capped at 1;
    a redeemer redeems a number of coupons drawn from the real counts, on days uniform in the window."""

    def __init__(self, params: dict[str, Any]):
        beta = params["response"]["proneness"]
        self._mean = beta["a"] / (beta["a"] + beta["b"])
        self._rates = {t: v["redemption_rate"] for t, v in params["campaigns"]["types"].items()}
        per = params["response"]["redemptions_per_redeemer"]
        self._counts = np.asarray(per["values"], np.int64)
        self._count_p = np.asarray(per["share"], float) / np.sum(per["share"])

    def __call__(
        self, campaign: Campaign, recipients: np.ndarray, proneness: np.ndarray, rng: np.random.Generator
    ) -> Redemptions:
        p = np.minimum(proneness * (self._rates[campaign.campaign_type] / self._mean), 1.0)
        redeemers = recipients[rng.random(len(recipients)) < p]
        n = rng.choice(self._counts, size=len(redeemers), p=self._count_p)
        hh = np.repeat(redeemers, n)
        window = (campaign.end - campaign.start).days + 1
        days = np.datetime64(campaign.start, "D") + rng.integers(0, window, size=len(hh))
        coupons = campaign.coupon_upcs[rng.integers(0, len(campaign.coupon_upcs), size=len(hh))]
        return Redemptions(hh.astype(np.int64), coupons.astype(np.int64), days)


@dataclass(frozen=True)
class Households:
    """The lasting state of households ``first_id .. first_id + len - 1``."""

    rate: np.ndarray  # baskets per day
    mean_lines: np.ndarray
    mix_cum: np.ndarray  # (n, departments) cumulative department shares, float32
    discount_share: np.ndarray
    proneness: np.ndarray
    store: np.ndarray


class SyntheticSource:
    """The synthetic world as a source (``couponflow.platform.sources.base.Source``)."""

    name = "synthetic"
    # its campaigns go to recipients it draws itself: our sends reach nobody (DESIGN, honest lift)
    answers_our_sends = False

    def __init__(
        self,
        households: int,
        seed: int = 0,
        params: dict[str, Any] | None = None,
        response: CouponResponse | None = None,
    ):
        if not 1 <= households < HOUSEHOLD_ID_LIMIT:
            raise ValueError(f"households must be in 1..{HOUSEHOLD_ID_LIMIT - 1}, got {households}")
        self.households, self.seed = households, seed
        self.params = params or load_params()
        self.response: CouponResponse = response or ProneResponse(self.params)
        cal = self.params["calendar"]
        self.first_day = date.fromisoformat(cal["first_day"])
        self.last_day = self.first_day + timedelta(days=int(cal["days"]) - 1)
        self._monday = self.first_day - timedelta(days=self.first_day.weekday())
        dep = self.params["departments"]
        self._departments = list(dep["names"])

    def days(self) -> list[date]:
        return calendar(self.first_day, self.last_day)

    # -- households ----------------------------------------------------------------------------

    def _block(self, b: int) -> Households:
        """The state of the BLOCK households of block b (ids b*BLOCK+1 ..), independent of N."""
        p, rng = self.params, _rng(self.seed, _HOUSEHOLD, b)
        rhythm, basket = p["rhythm"]["baskets_per_day"], p["basket"]
        z = rng.standard_normal((BLOCK, 2))
        corr = basket["log_rate_correlation"]
        z2 = corr * z[:, 0] + np.sqrt(1 - corr * corr) * z[:, 1]
        rate = np.exp(rhythm["log_mean"] + rhythm["log_sd"] * z[:, 0])
        mean_lines = np.maximum(np.exp(basket["mean_lines"]["log_mean"] + basket["mean_lines"]["log_sd"] * z2), 1.0)
        dep = p["departments"]
        alpha = np.asarray(dep["shares"], float) * dep["concentration"]
        mix = rng.gamma(alpha, 1.0, size=(BLOCK, len(alpha)))
        mix /= mix.sum(axis=1, keepdims=True)
        ds = p["price_sensitivity"]["discount_share"]
        pr = p["response"]["proneness"]
        st = p["stores"]
        return Households(
            rate=rate,
            mean_lines=mean_lines,
            mix_cum=np.cumsum(mix, axis=1).astype(np.float32),
            discount_share=rng.beta(ds["a"], ds["b"], size=BLOCK),
            proneness=rng.beta(pr["a"], pr["b"], size=BLOCK),
            store=rng.integers(1, st["count"] + 1, size=BLOCK),
        )

    @cached_property
    def _hh(self) -> Households:
        """Every household's state (memory in proportion to households, not to days)."""
        blocks = [self._block(b) for b in range((self.households + BLOCK - 1) // BLOCK)]
        n = self.households
        return Households(
            *(np.concatenate([getattr(b, f) for b in blocks])[:n] for f in Households.__dataclass_fields__)
        )

    # -- the catalogue -------------------------------------------------------------------------

    @cached_property
    def _catalogue(self) -> dict[str, np.ndarray]:
        dep = self.params["departments"]
        rng = _rng(self.seed, _CATALOGUE)
        sizes = np.asarray(dep["products"], np.int64)
        d = np.repeat(np.arange(len(sizes)), sizes)
        mean, sd = np.asarray(dep["log_price_mean"])[d], np.asarray(dep["log_price_sd"])[d]
        price = np.round(np.exp(mean + sd * rng.standard_normal(len(d))), 2).clip(0.01)
        popularity = np.exp(np.asarray(dep["popularity_log_sd"])[d] * rng.standard_normal(len(d)))
        # cumulative popularity within each department, offset by the department's index, so that
        # one searchsorted of (department + u) picks a product of that department
        cum = np.empty(len(d))
        starts = np.concatenate([[0], np.cumsum(sizes)])
        for i in range(len(sizes)):
            w = popularity[starts[i] : starts[i + 1]]
            cum[starts[i] : starts[i + 1]] = i + np.cumsum(w) / w.sum()
        cum[starts[1:] - 1] = np.arange(1, len(sizes) + 1)  # exact ends: u < 1 never falls past them
        # a few popular products carry a department's lines: rescale its prices so that the mean
        # price of its lines is the fitted mean, whatever prices those few products happened to draw
        target = np.exp(np.asarray(dep["log_price_mean"]) + np.asarray(dep["log_price_sd"]) ** 2 / 2)
        for i in range(len(sizes)):
            sl = slice(starts[i], starts[i + 1])
            mean = np.sum(price[sl] * popularity[sl]) / np.sum(popularity[sl])
            price[sl] = np.round(price[sl] * (target[i] / mean), 2).clip(0.01)
        return {
            "product_id": PRODUCT_ID_BASE + np.arange(len(d), dtype=np.int64),
            "department": d,
            "price": price,
            "popularity": popularity,
            "cum": cum,
            "starts": starts,
            "manufacturer_id": rng.integers(1, dep["manufacturers"] + 1, size=len(d)),
            "private": rng.random(len(d)) < dep["private_brand_share"],
        }

    # -- campaigns -----------------------------------------------------------------------------

    @cached_property
    def campaigns(self) -> list[Campaign]:
        """The world's campaign calendar: one start every few days (the real gaps) from
        ``first_start_after_days`` to the last day."""
        p, cat = self.params["campaigns"], self._catalogue
        types = sorted(p["types"])
        weights = np.asarray([p["types"][t]["count"] for t in types], float)
        rng = _rng(self.seed, _CALENDAR)
        out: list[Campaign] = []
        start = self.first_day + timedelta(days=int(self.params["calendar"]["first_start_after_days"]))
        shares = np.asarray(self.params["departments"]["shares"], float)
        while start <= self.last_day:
            cid = len(out) + 1
            typ = types[int(rng.choice(len(types), p=weights / weights.sum()))]
            spec = p["types"][typ]
            end = start + timedelta(days=int(_draw(rng, spec["duration_days"])))
            size = max(1, round(float(_draw(rng, spec["size_share"])) * self.households))
            n_coupons = int(_draw(rng, spec["coupons"]))
            crng = _rng(self.seed, _COUPONS, cid)
            products = []
            for dept, n in zip(
                crng.choice(len(shares), size=n_coupons, p=shares / shares.sum()),
                _draw(crng, p["products_per_coupon"], n_coupons),
            ):
                lo, hi = cat["starts"][dept], cat["starts"][dept + 1]
                picks = np.searchsorted(cat["cum"][lo:hi], dept + crng.random(int(n)), side="right")
                products.append(np.unique(cat["product_id"][lo + np.minimum(picks, hi - lo - 1)]))
            upcs = COUPON_UPC_BASE + cid * 1000 + np.arange(n_coupons, dtype=np.int64)
            out.append(Campaign(cid, typ, start, end, size, upcs, tuple(products)))
            start += timedelta(days=int(_draw(rng, p["start_gap_days"])))
        return out

    def recipients(self, campaign: Campaign) -> np.ndarray:
        """The world's own draw: planned_size households, weighted by rate^targeting (Gumbel top-k)."""
        rng = _rng(self.seed, _RECIPIENTS, campaign.campaign_id)
        key = self.params["campaigns"]["targeting"] * np.log(self._hh.rate) + rng.gumbel(size=self.households)
        k = min(campaign.planned_size, self.households)
        top = np.argpartition(-key, k - 1)[:k] if k < self.households else np.arange(self.households)
        return np.sort(top).astype(np.int64) + 1

    @cached_property
    def _redemptions(self) -> dict[np.datetime64, list[tuple[int, int, int]]]:
        """Every redemption of the world by day: (household, coupon, campaign). Small (about a
        tenth of the recipients), computed once."""
        by_day: dict[np.datetime64, list[tuple[int, int, int]]] = {}
        for c in self.campaigns:
            rec = self.recipients(c)
            r = self.response(c, rec, self._hh.proneness[rec - 1], _rng(self.seed, _RESPONSE, c.campaign_id))
            for h, upc, d in zip(r.household_id.tolist(), r.coupon_upc.tolist(), r.day):
                by_day.setdefault(d, []).append((h, upc, c.campaign_id))
        return by_day

    @cached_property
    def _coupon_products(self) -> dict[int, np.ndarray]:
        return {int(u): prods for c in self.campaigns for u, prods in zip(c.coupon_upcs, c.coupon_products)}

    # -- daily tables --------------------------------------------------------------------------

    def day(self, table: str, d: date) -> pa.Table:
        spec = RAW_TABLES[table]
        if not spec.daily:
            raise ValueError(f"{table} is a snapshot, not a daily table")
        if not self.first_day <= d <= self.last_day:
            return spec.schema.empty_table()
        if table == "transactions":
            cols = self._transactions(d)
        elif table == "coupon_redemptions":
            rows = sorted(set(self._redemptions.get(np.datetime64(d, "D"), [])))
            ts = datetime.combine(d, datetime.min.time())
            cols = {
                "household_id": [r[0] for r in rows],
                "coupon_upc": [r[1] for r in rows],
                "campaign_id": [r[2] for r in rows],
                "redemption_date": [ts] * len(rows),
            }
        else:  # campaigns: the recipients of the campaigns that start on d
            starting = [c for c in self.campaigns if c.start == d]
            rec = [self.recipients(c) for c in starting]
            empty = np.zeros(0, np.int64)
            cols = {
                "campaign_id": np.concatenate(
                    [empty, *(np.full(len(r), c.campaign_id) for c, r in zip(starting, rec))]
                ),
                "household_id": np.concatenate([empty] + rec),
            }
        return _conform(cols, table)

    def _transactions(self, d: date) -> dict[str, Any]:
        p, hh, cat = self.params, self._hh, self._catalogue
        i = (d - self.first_day).days
        rng = _rng(self.seed, _DAY, i)
        n = self.households
        baskets = rng.poisson(hh.rate * p["rhythm"]["weekday_factor"][d.weekday()])
        baskets = np.minimum(baskets, MAX_BASKETS_PER_DAY)
        coupon_rows = sorted(set(self._redemptions.get(np.datetime64(d, "D"), [])))
        red_hh = np.asarray(sorted({r[0] for r in coupon_rows}), np.int64)
        if len(red_hh):  # a redeemer shops that day
            baskets[red_hh - 1] = np.maximum(baskets[red_hh - 1], 1)
        b_hh = np.repeat(np.arange(n), baskets)  # household index of each basket
        b_k = np.arange(len(b_hh)) - np.repeat(np.cumsum(baskets) - baskets, baskets)  # basket number in the day
        basket_id = ((i * MAX_BASKETS_PER_DAY + b_k + 1) * HOUSEHOLD_ID_LIMIT + b_hh + 1).astype(np.int64)
        home = rng.random(len(b_hh)) < p["stores"]["home_share"]
        store = np.where(home, hh.store[b_hh], rng.integers(1, p["stores"]["count"] + 1, size=len(b_hh)))
        hour = rng.choice(
            24, size=len(b_hh), p=np.asarray(p["rhythm"]["hour_share"]) / np.sum(p["rhythm"]["hour_share"])
        )
        secs = hour * 3600 + rng.integers(0, 3600, size=len(b_hh))
        ts = np.datetime64(d, "us") + secs.astype("timedelta64[s]")

        m = hh.mean_lines[b_hh]
        k = p["basket"]["gamma_shape"]
        lines = 1 + rng.poisson((m - 1) * rng.gamma(k, 1.0 / k, size=len(b_hh)))
        l_b = np.repeat(np.arange(len(b_hh)), lines)  # basket index of each line
        l_hh = b_hh[l_b]
        cum = hh.mix_cum[l_hh]
        dept = np.minimum((rng.random(len(l_b))[:, None] > cum).sum(axis=1), cum.shape[1] - 1)
        prod = np.searchsorted(cat["cum"], dept + rng.random(len(l_b)), side="right")
        prod = np.minimum(prod, cat["starts"][dept + 1] - 1)
        qp = p["quantity"]
        qty = rng.choice(np.asarray(qp["values"]), size=len(l_b), p=np.asarray(qp["share"]) / np.sum(qp["share"]))
        shelf = cat["price"][prod] * qty
        on_disc = rng.random(len(l_b)) < hh.discount_share[l_hh]
        dp = p["price_sensitivity"]["depth"]
        retail = np.where(on_disc, np.round(shelf * rng.beta(dp["a"], dp["b"], size=len(l_b)), 2), 0.0)
        sales = np.round(shelf, 2) - retail
        product_id = cat["product_id"][prod]
        # coupons outside the world's campaigns (the real year's other coupon lines)
        cl = p["coupon_lines"]
        other = rng.random(len(l_b)) < cl["other_share"]
        draw = np.round(
            np.exp(cl["coupon_disc"]["log_mean"] + cl["coupon_disc"]["log_sd"] * rng.standard_normal(len(l_b))), 2
        )
        coupon = np.where(other, np.minimum(draw, np.maximum(sales, 0.0)), 0.0)
        matched = other & (rng.random(len(l_b)) < cl["match_share"])
        match = np.where(matched, np.round(coupon * cl["match_ratio"], 2), 0.0)

        if coupon_rows:  # the coupon lines of today's redemptions, in the redeemer's first basket
            crng = _rng(self.seed, _DAY, i, 1)
            first_basket = np.full(n, -1)
            first_basket[b_hh[::-1]] = np.arange(len(b_hh))[::-1]
            c_b = first_basket[np.asarray([r[0] for r in coupon_rows]) - 1]
            c_prod = np.asarray(
                [(lambda ps: ps[int(crng.integers(0, len(ps)))])(self._coupon_products[r[1]]) for r in coupon_rows],
                np.int64,
            )
            c_idx = c_prod - PRODUCT_ID_BASE
            c_shelf = np.round(cat["price"][c_idx], 2)
            c_disc = np.minimum(
                np.round(
                    np.exp(
                        cl["coupon_disc"]["log_mean"] + cl["coupon_disc"]["log_sd"] * crng.standard_normal(len(c_b))
                    ),
                    2,
                ),
                c_shelf,
            )
            c_match = np.where(crng.random(len(c_b)) < cl["match_share"], np.round(c_disc * cl["match_ratio"], 2), 0.0)
            # coupon lines first: they win over a plain line of the same product in the same basket
            l_b = np.concatenate([c_b, l_b])
            product_id = np.concatenate([c_prod, product_id])
            qty = np.concatenate([np.ones(len(c_b), np.int64), qty])
            sales = np.concatenate([c_shelf, sales])
            retail = np.concatenate([np.zeros(len(c_b)), retail])
            coupon = np.concatenate([c_disc, coupon])
            match = np.concatenate([c_match, match])

        key = basket_id[l_b]
        _, first = np.unique(np.stack([key, product_id]), axis=1, return_index=True)  # one line per (basket, product)
        first = np.sort(first)
        lb = l_b[first]
        return {
            "household_id": (b_hh[lb] + 1).astype(np.int64),
            "store_id": store[lb].astype(np.int64),
            "basket_id": key[first],
            "product_id": product_id[first],
            "quantity": qty[first].astype(np.int64),
            "sales_value": np.round(sales[first], 2),
            "retail_disc": retail[first],
            "coupon_disc": coupon[first],
            "coupon_match_disc": match[first],
            "week": np.full(len(first), (d - self._monday).days // 7 + 1, np.int64),
            "transaction_timestamp": ts[lb],
        }

    # -- snapshots -----------------------------------------------------------------------------

    def snapshot(self, table: str) -> pa.Table:
        spec = RAW_TABLES[table]
        if spec.daily:
            raise ValueError(f"{table} is a daily table, not a snapshot")
        if table == "campaign_descriptions":
            cs = self.campaigns
            cols: dict[str, Any] = {
                "campaign_id": [c.campaign_id for c in cs],
                "campaign_type": [c.campaign_type for c in cs],
                "start_date": [datetime.combine(c.start, datetime.min.time()) for c in cs],
                "end_date": [datetime.combine(c.end, datetime.min.time()) for c in cs],
                "planned_size": [c.planned_size for c in cs],
            }
        elif table == "coupons":
            triples = [
                (int(u), prods, c.campaign_id)
                for c in self.campaigns
                for u, prods in zip(c.coupon_upcs, c.coupon_products)
            ]
            cols = {
                "coupon_upc": np.concatenate([np.full(len(ps), u) for u, ps, _ in triples]),
                "product_id": np.concatenate([ps for _, ps, _ in triples]),
                "campaign_id": np.concatenate([np.full(len(ps), c) for _, ps, c in triples]),
            }
        elif table == "products":
            cat = self._catalogue
            names = np.asarray(self._departments, dtype=object)[cat["department"]]
            # a synthetic category per department and price band, so that category features have values
            band = np.digitize(cat["price"], [1, 2, 4, 8]).astype(str)
            cols = {
                "product_id": cat["product_id"],
                "manufacturer_id": cat["manufacturer_id"],
                "department": names,
                "brand": np.where(cat["private"], "Private", "National"),
                "product_category": np.char.add(np.char.add(names.astype(str), " BAND "), band),
                "product_type": np.char.add(names.astype(str), " ITEM"),
                "package_size": [None] * len(names),
            }
        else:  # demographics: a share of the households, the real joint combinations
            cols = self._demographics()
        return _conform(cols, table)

    def _demographics(self) -> dict[str, Any]:
        dem = self.params["demographics"]
        combos = [c for c, _ in dem["combinations"]]
        w = np.asarray([n for _, n in dem["combinations"]], float)
        ids, rows = [], []
        for b in range((self.households + BLOCK - 1) // BLOCK):
            rng = _rng(self.seed, _DEMOGRAPHICS, b)
            has = rng.random(BLOCK) < dem["share"]
            pick = rng.choice(len(combos), size=BLOCK, p=w / w.sum())
            for j in np.flatnonzero(has):
                h = b * BLOCK + j + 1
                if h <= self.households:
                    ids.append(h)
                    rows.append(combos[pick[j]])
        cols: dict[str, Any] = {"household_id": ids}
        for i, col in enumerate(dem["columns"]):
            cols[col] = [r[i] for r in rows]
        return cols


def _conform(cols: dict[str, Any], table: str) -> pa.Table:
    """The contract's columns and types, sorted by the key (deterministic bytes)."""
    spec = RAW_TABLES[table]
    t = pa.table({c: pa.array(cols[c], type=typ) for c, typ in spec.columns.items()}, schema=spec.schema)
    return t.sort_by([(k, "ascending") for k in spec.key])
