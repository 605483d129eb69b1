"""Allocation: solve time, peak memory and gap to the LP bound, side by side with HiGHS, the
replay capture of real redeemers at 10/20/50% budgets, and the daily policy's budget use on
every real run date.

Every solve runs in its own subprocess (peak memory = that process's max RSS); HiGHS
(interior point, ``highs-ipm``) gets a time limit and an address-space limit and is reported as
"not solved" past them. Instances: every household a candidate of every campaign, p ~ Beta(1, 8),
cost = p x U(0.5, 2) + 0.1, caps 15% of households per campaign, a budget that binds.
Usage:  .venv/bin/python benchmarks/allocation.py [--sizes 10000 100000 1000000] [--highs-timeout 600]
        [--highs-memory-gb 12] [--home DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

CHILD = r"""
import json, resource, sys, time
import numpy as np
from models.allocation import AllocationProblem, solve
from models.lp_reference import lp_optimum
which, H, C, mem_gb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
if which == "highs":
    limit = int(mem_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
rng = np.random.default_rng(0)
hh = np.repeat(np.arange(H, dtype=np.int64), C); camp = np.tile(np.arange(C, dtype=np.int64), H)
v = rng.beta(1, 8, H * C); c = v * rng.uniform(0.5, 2.0, H * C) + 0.1
p = AllocationProblem(hh, camp, v, c, 0.06 * H, {j: int(0.15 * H) for j in range(C)}, 1)
t0 = time.perf_counter()
if which == "ours":
    s = solve(p)
    out = {"value": s.value, "bound": s.bound, "gap": s.gap, "iterations": s.iterations}
else:
    out = {"value": lp_optimum(p, "highs-ipm")}
out["seconds"] = time.perf_counter() - t0
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def run(which: str, households: int, campaigns: int, timeout: float, mem_gb: float) -> dict:
    try:
        res = subprocess.run(
            [sys.executable, "-c", CHILD, which, str(households), str(campaigns), str(mem_gb)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"not solved in {timeout:.0f} s"}
    if res.returncode != 0:
        last = (res.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": "not solved: " + ("out of memory" if "Memory" in last else last[:60])}
    return json.loads(res.stdout.strip().splitlines()[-1])


def solver_table(sizes: list[int], campaigns: int, timeout: float, mem_gb: float) -> None:
    print(
        f"{'households x campaigns':<24}{'ours s':>8}{'ours MB':>9}{'gap to own bound':>18}"
        f"{'HiGHS ipm s':>13}{'HiGHS MB':>10}{'gap to HiGHS LP':>28}{'speed-up':>10}"
    )
    for h in sizes:
        ours = run("ours", h, campaigns, timeout, mem_gb)
        highs = run("highs", h, campaigns, timeout, mem_gb)
        if "error" in highs:
            hs, hm, gap_lp, speed = "-", "-", highs["error"], ""
        else:
            hs, hm = f"{highs['seconds']:.1f}", f"{highs['peak_mb']:.0f}"
            gap_lp = f"{(highs['value'] - ours['value']) / highs['value']:.2e}"
            speed = f"{highs['seconds'] / ours['seconds']:.0f}x"
        print(
            f"{f'{h:,} x {campaigns}':<24}{ours['seconds']:>8.1f}{ours['peak_mb']:>9.0f}{ours['gap']:>18.2e}"
            f"{hs:>13}{hm:>10}{gap_lp:>28}{speed:>10}"
        )


def replay_table(home: str | None) -> None:
    """Eligible = the households that really received each campaign; budget = a share of them."""
    from datetime import date

    import numpy as np
    from _year import year_examples

    from models.allocation import AllocationProblem, solve
    from models.backtest import scored_rows, training_rows
    from models.scoring import v0_scorer
    from models.training import TrainConfig, train

    examples = year_examples(home)
    cut = date(2017, 8, 8)
    rows = scored_rows(examples, cut)
    rows = rows[rows["label_is_final"] & ~rows["is_censored"]].reset_index(drop=True)
    scores = {
        "model (mlp)": train(training_rows(examples, cut), TrainConfig()).predict(rows),
        "v0 rule": v0_scorer(5.0).predict(rows),
        "random": np.random.default_rng(0).random(len(rows)),
    }
    print(
        f"\nreplay on history: campaigns {sorted(rows['campaign_id'].unique())} (start >= {cut}, fully observed), "
        f"{int(rows['label'].sum())} real redeemers among {len(rows)} recipients; model trained before {cut}"
    )
    print(f"{'scores':<14}" + "".join(f"{f'capture @{int(s * 100)}%':>14}" for s in (0.1, 0.2, 0.5)))
    label = rows["label"].to_numpy()
    for name, p in scores.items():
        line = f"{name:<14}"
        for share in (0.1, 0.2, 0.5):
            chosen = np.zeros(len(rows), dtype=bool)
            for _, day in rows.groupby("as_of_date"):  # one decision per run date, as the daily job makes it
                idx = day.index.to_numpy()
                caps = {int(c): int(np.ceil(share * n)) for c, n in day.groupby("campaign_id").size().items()}
                prob = AllocationProblem(
                    day["household_id"].to_numpy(),
                    day["campaign_id"].to_numpy(),
                    p[idx],
                    np.ones(len(idx)),
                    float(len(idx)),
                    caps,
                    1,
                )
                chosen[idx] = solve(prob).chosen
            line += f"{label[chosen].sum() / label.sum():>14.3f}"
        print(line)


def policy_table(home: str | None) -> None:
    """The daily logging policy on every real run date (v0 scores, default settings): how much of
    the budget it spends and on whom. Budget-bound days are where the explore reserve matters."""
    from _year import year_settings

    from couponflow.app.decision_inputs import load_candidates
    from couponflow.platform.warehouse import Warehouse, query_df
    from models.decision import decide
    from models.scoring import v0_scorer

    settings = year_settings(home)
    dates = query_df(settings, "select distinct run_date from marts.scoring_candidates order by 1")["run_date"]
    print(
        f"\nthe daily policy on each real run date (v0 scores, budget {settings.budget_per_day:.0f}, explore "
        f"{settings.explore_share:.0%}, holdout {settings.holdout_share:.0%})"
    )
    print(
        f"{'run date':<12}{'campaigns':>10}{'eligible':>10}{'sends':>7}{'explore':>9}{'holdout':>9}"
        f"{'exp. cost':>11}{'budget used':>13}{'exp. redemptions':>18}"
    )
    for d in dates:
        d = d.date() if hasattr(d, "date") else d
        s = decide(settings, d, load_candidates(Warehouse(settings), d), v0_scorer(settings.prior_strength)).summary
        eligible = sum(c["eligible"] for c in s["campaigns"])
        print(
            f"{d!s:<12}{len(s['campaigns']):>10}{eligible:>10}{s['sends']:>7}{s['explore_sends']:>9}"
            f"{s['holdout']:>9}{s['expected_cost']:>11.1f}{s['expected_cost'] / s['budget']:>13.1%}"
            f"{s['expected_redemptions']:>18.1f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", nargs="+", type=int, default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--campaigns", type=int, default=20)
    ap.add_argument("--highs-timeout", type=float, default=600)
    ap.add_argument("--highs-memory-gb", type=float, default=12)
    ap.add_argument("--home", default=None)
    ap.add_argument("--no-replay", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    solver_table(args.sizes, args.campaigns, args.highs_timeout, args.highs_memory_gb)
    if not args.no_replay:
        replay_table(args.home)
        policy_table(args.home)
    print(f"\n({time.perf_counter() - t0:.0f} s in all)")


if __name__ == "__main__":
    main()
