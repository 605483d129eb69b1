"""Behavioural segments on the real year (models/segments.py): the choice of k, the segments
found, how stable they are and what they cost to compute.

1. At each quarter's first as-of date with 26 weeks of history (the cuts of quarterly refits;
   the fits in use are yearly, ``REFIT_MONTHS``, so only the first of them is in force): the
   silhouette (seeded sample of 2,000), the smallest segment's share and the inertia for every k
   in ``K_RANGE``, and the k chosen (the best silhouette among fits with no segment under
   ``MIN_SHARE``).
2. The chosen fit's segments: name, size and the members' medians.
3. Stability and responsiveness of the hysteresis margin and of the refit period (yearly, in
   use, and quarterly), over every step between consecutive as-of dates from the first cut to
   the end of the year: the share of households whose segment
   changes per step (within a fit, and at a refit), and the share of households that have not
   shopped for 56 days or more that sit in a "lapsed" segment (where the fit in force has one).
4. Seconds to fit every cut and to fold the whole year.

Usage:  .venv/bin/python benchmarks/segments.py [--home DIR | --warehouse FILE]
(--warehouse: a built warehouse.duckdb, read only; --home: a home, built first when needed).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models import segments as S

MARGINS = (0.0, 0.25, 0.5, 1.0)
LAPSED_CHECK_DAYS = 56
COLUMNS = ", ".join(("household_id", "as_of_date", *S.SEGMENT_FEATURES, S.BASKET_ALL))


def _reader(args: argparse.Namespace):
    if args.warehouse:
        import duckdb

        con = duckdb.connect(args.warehouse, read_only=True)
        return lambda sql: con.sql(sql).df()
    from benchmarks._year import year_settings
    from couponflow.platform.warehouse import query_df

    settings = year_settings(args.home)
    return lambda sql: query_df(settings, sql)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--home", default=None, help="a couponflow home (built first when needed)")
    group.add_argument("--warehouse", default=None, help="a built warehouse.duckdb, opened read only")
    args = parser.parse_args()
    query = _reader(args)
    dates = query("select as_of_date, first_landed from marts.as_of_dates order by 1")
    as_of = [pd.Timestamp(d).date() for d in dates["as_of_date"]]
    first = pd.Timestamp(dates["first_landed"].min()).date()
    cuts = S.fitting_cuts(as_of, first, refit_months=3)
    in_use = S.fitting_cuts(as_of, first)
    rows = query(f"select {COLUMNS} from marts.household_features order by as_of_date, household_id")
    frames = [(pd.Timestamp(d).date(), g.reset_index(drop=True)) for d, g in rows.groupby("as_of_date", sort=True)]
    by_date = dict(frames)

    print(
        f"as-of dates {len(as_of)} ({as_of[0]} .. {as_of[-1]}), quarterly cuts {', '.join(map(str, cuts))}, "
        f"in use (every {S.REFIT_MONTHS} months) {', '.join(map(str, in_use))}\n"
    )
    fits, seconds = {}, {}
    for cut in cuts:
        t = time.perf_counter()
        fits[cut] = S.fit_segmentation(by_date[cut], cut)
        seconds[cut] = time.perf_counter() - t

    print(f"1. the choice of k (silhouette on a seeded sample; chosen = best among min share >= {S.MIN_SHARE:.0%})")
    print(f"{'cut':<12}{'households':>11}{'k':>4}{'silhouette':>12}{'min share':>11}{'inertia':>11}  chosen")
    for cut, seg in fits.items():
        for s in seg.selection:
            print(
                f"{cut!s:<12}{seg.households:>11}{s['k']:>4}{s['silhouette']:>12.4f}{s['min_share']:>11.3f}"
                f"{s['inertia']:>11.0f}  {'<-' if s['chosen'] else ''}"
            )
    print("\n2. the segments of each fit (members' medians; ids in canonical order, highest spend first)")
    print(
        f"{'cut':<12}{'id':>3}  {'name':<40}{'size':>6}{'recency d':>10}{'baskets/wk':>11}{'spend/wk':>9}"
        f"{'basket':>8}  top department share"
    )
    for cut, seg in fits.items():
        for i, (name, size, p) in enumerate(zip(seg.names, seg.sizes, seg.profiles, strict=True)):
            top = max(S.DEPARTMENTS, key=lambda d, p=p: p[f"dept_share_{d}"])
            print(
                f"{cut!s:<12}{i:>3}  {name:<40}{size:>6}{p[S.RECENCY]:>10.0f}{p[S.FREQUENCY]:>11.2f}"
                f"{p[S.SPEND]:>9.2f}{p[S.BASKET]:>8.2f}  {top} {p[f'dept_share_{top}']:.2f}"
            )

    print(
        f"\n3. stability (share of households changing segment per step) and responsiveness (households "
        f"{LAPSED_CHECK_DAYS}+ days without shopping that sit in a lapsed segment)"
    )
    print(f"{'refit':>9}{'margin':>7}{'within a fit':>14}{'at a refit':>12}{'lapsed found':>14}{'fold s':>8}")
    steps = [(d, f) for d, f in frames if d >= cuts[0]]
    for period, margin in [(S.REFIT_MONTHS, m) for m in MARGINS] + [(3, S.MARGIN)]:
        use = S.fitting_cuts(as_of, first, refit_months=period)
        fm = {c: S.Segmentation.from_dict({**fits[c].to_dict(), "margin": margin}) for c in use}
        t = time.perf_counter()
        history = [(steps[i][0], S.fold(fm, steps[: i + 1])) for i in range(len(steps))]
        fold_s = (time.perf_counter() - t) / len(steps)
        within, refit, found, lapsed = [], [], 0, 0
        for (d0, a0), (d1, a1) in itertools.pairwise(history):
            both = a0.merge(a1, on="household_id", suffixes=("_0", "_1"))
            share = float((both["segment_0"] != both["segment_1"]).mean())
            (refit if S.fit_in_force(fm, d0) is not S.fit_in_force(fm, d1) else within).append(share)
        for d, a in history:
            seg = S.fit_in_force(fm, d)
            if seg is None or not any(n.startswith("lapsed") for n in seg.names):
                continue
            f = by_date[d]
            gone = set(f.loc[f[S.RECENCY] >= LAPSED_CHECK_DAYS, "household_id"])
            sub = a[a["household_id"].isin(gone)]
            found += int(sub["segment"].str.startswith("lapsed").sum())
            lapsed += len(sub)
        print(
            f"{period:>7}mo{margin:>7.2f}{np.mean(within):>14.3%}{np.mean(refit) if refit else float('nan'):>12.3%}"
            f"{found / lapsed if lapsed else float('nan'):>14.1%}{fold_s:>8.2f}"
        )
    print(
        f"   (in use: every {S.REFIT_MONTHS} months, margin {S.MARGIN}; {len(steps)} as-of dates folded; "
        "fold s = mean seconds per date folded)"
    )
    print("\n4. seconds to fit: " + ", ".join(f"{c} {s:.2f}" for c, s in seconds.items()))


if __name__ == "__main__":
    main()
