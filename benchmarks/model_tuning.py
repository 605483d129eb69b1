"""Hyper-parameter and model-form choice at the tuning cut 2017-05-08, disjoint from the reported cuts.

Trains on campaigns that ended before 2017-05-08 and evaluates on the campaigns that started on
or after it and ended before 2017-08-08, the first reported cut (8, 9 and 10): every label the
choice looks at was known before the reported cuts, and the campaigns the quality benchmark
reports (13 onwards) are never looked at. (Campaigns 11 and 12 start before 2017-08-08 but end
after it, so they are left out.)

1. The grid (learning rate, weight decay, dropout per family): three seeds per configuration.
2. The model's form (single networks, seed ensembles of ``n_members``, the logistic + MLP
   ``blend``): a single-network candidate is trained with the 25 seeds 0..24, an ensemble of 5
   with base seeds 0, 5, 10, 15, 20, whose members are exactly those 25 networks, so that a
   single candidate and its ensemble are compared on the same trained members. Mean ± standard
   deviation over seeds (what one trained model may land on), and the CPU seconds of one
   training: on 669 rows a network trains in about 0.1 s, so that column mostly shows start-up
   and the machine's other load; what an ensemble costs on the year: benchmarks/training_speed.py.
3. The MLP's width and depth (``hidden``), as the chosen form (dropout 0.3, ensembles of 5 over
   the same base seeds).

The rule, on sections 2 and 3: the highest mean within-campaign AUC (the promotion metric;
allocation ranks within a campaign); where two candidates' means are closer than their standard
errors, the one with the smaller spread over seeds and the lower log loss. Chosen (TrainConfig's
defaults): mlp, dropout 0.3, an ensemble of 5 (section 2: 0.7637±0.014, tied with mlp x5 at
0.7643±0.014 and taken for its lower log loss, 0.3439 against 0.3451; a single mlp 0.7626±0.022),
hidden layers (256, 128) (section 3: 0.8028±0.003, the best on every metric, against
0.7637±0.014 for the earlier (64, 32) and 0.7970±0.006 for (512, 256)).
Usage:  .venv/bin/python benchmarks/model_tuning.py [--home DIR] [--skip-grid]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _year import home_argument, year_examples

from models.backtest import metrics_over_seeds
from models.evaluation import METRICS, all_metrics
from models.scoring import v0_scorer
from models.training import TrainConfig

CUT, UNTIL = pd.Timestamp("2017-05-08"), pd.Timestamp("2017-08-08")
COLS = list(METRICS)  # the columns of metrics_over_seeds
SEEDS = 25  # members per form candidate
WIDTHS = [(32, 16), (64, 32), (128, 64), (256, 128), (512, 256), (128,), (256,), (128, 64, 32)]

# every candidate spells out what it varies, so that the table does not move with TrainConfig's defaults
ONE = TrainConfig(family="mlp", hidden=(64, 32), dropout=0.1, weight_decay=1e-4, lr=None, n_members=1)
FORMS = [
    ("logistic", replace(ONE, family="logistic")),
    ("logistic x5", replace(ONE, family="logistic", n_members=5)),
    ("mlp", ONE),
    ("mlp x5", replace(ONE, n_members=5)),
    ("mlp dropout=0.3", replace(ONE, dropout=0.3)),
    ("mlp dropout=0.3 x5", replace(ONE, dropout=0.3, n_members=5)),
    ("mlp wd=0.001", replace(ONE, weight_decay=1e-3)),
    ("mlp wd=0.001 x5", replace(ONE, weight_decay=1e-3, n_members=5)),
    ("wide_deep", replace(ONE, family="wide_deep")),
    ("wide_deep x5", replace(ONE, family="wide_deep", n_members=5)),
    ("blend (logistic + mlp)", replace(ONE, family="blend")),
    ("blend (logistic + mlp) x5", replace(ONE, family="blend", n_members=5)),
]


def evaluate(tr: pd.DataFrame, ev: pd.DataFrame, cfg: TrainConfig, seeds) -> tuple[np.ndarray, float]:
    t0 = time.process_time()
    runs = metrics_over_seeds(tr, ev, cfg, seeds)
    return runs, (time.process_time() - t0) / len(seeds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    home_argument(ap)
    ap.add_argument("--skip-grid", action="store_true", help="only the model-form comparison (section 2)")
    args = ap.parse_args()
    examples = year_examples(args.home)
    tr = examples[examples["end_date"] < CUT].sort_values(["campaign_id", "household_id"])
    # sorted like the backtest's rows: batch order and the capture of tied scores follow row order
    ev = examples[(examples["as_of_date"] >= CUT) & (examples["end_date"] < UNTIL)].sort_values(
        ["campaign_id", "household_id"]
    )
    y, c = ev["label"].to_numpy(), ev["campaign_id"].to_numpy()
    print(
        f"tuning cut {CUT.date()}: {len(tr)} training rows ({int(tr['label'].sum())} redeemers), "
        f"evaluated on campaigns {sorted(int(x) for x in ev['campaign_id'].unique())} ({int(y.sum())} redeemers)"
    )
    v0 = all_metrics(y, v0_scorer(5.0).predict(ev), c)

    if not args.skip_grid:
        print("\n1. grid, 3 seeds each (AUCwc mean±sd over seeds)")
        print(f"{'config':<44}{'AUCwc':>16}{'log loss':>10}{'capture@20':>12}")
        print(f"{'v0 rule':<44}{v0['auc_within_campaign']:>16.4f}{v0['log_loss']:>10.4f}{v0['capture_20']:>12.4f}")
        for family, lr, wd, dropout in itertools.product(
            ["logistic", "mlp", "wide_deep"], [None, 0.001], [1e-4, 1e-2], [0.1, 0.3]
        ):
            if family == "logistic" and (dropout != 0.1 or lr == 0.001):  # no dropout; its default lr is 0.001
                continue
            runs, _ = evaluate(tr, ev, replace(ONE, family=family, lr=lr, weight_decay=wd, dropout=dropout), range(3))
            name = f"{family} lr={lr or 'default'} wd={wd} dropout={dropout}"
            print(
                f"{name:<44}{runs[:, 3].mean():>9.4f}±{runs[:, 3].std():.4f}{runs[:, 2].mean():>10.4f}"
                f"{runs[:, 5].mean():>12.4f}",
                flush=True,
            )

    print(
        f"\n2. model form: singles over seeds 0..{SEEDS - 1}, ensembles of 5 over base seeds "
        f"0, 5, ..., {SEEDS - 5} (the same members); mean±sd over seeds, CPU s of one training"
    )
    head = ["roc_auc", "pr_auc", "log loss", "AUCwc", "capture@10", "capture@20", "capture@50"]
    print(f"{'candidate':<28}" + "".join(f"{h:>15}" for h in head) + f"{'cpu s':>8}")
    print(f"{'v0 rule':<28}" + "".join(f"{v0[k]:>15.4f}" for k in COLS))
    for name, cfg in FORMS:
        runs, cpu = evaluate(tr, ev, cfg, range(0, SEEDS, cfg.n_members))
        cells = [f"{m:.4f}±{sd:.3f}" for m, sd in zip(runs.mean(0), runs.std(0))]
        print(f"{name:<28}" + "".join(f"{x:>15}" for x in cells) + f"{cpu:>8.1f}", flush=True)

    print(f"\n3. the MLP's hidden layers, dropout 0.3, ensembles of 5 over base seeds 0, 5, ..., {SEEDS - 5}")
    print(f"{'hidden':<28}" + "".join(f"{h:>15}" for h in head) + f"{'cpu s':>8}")
    for hidden in WIDTHS:
        runs, cpu = evaluate(tr, ev, replace(ONE, dropout=0.3, n_members=5, hidden=hidden), range(0, SEEDS, 5))
        cells = [f"{m:.4f}±{sd:.3f}" for m, sd in zip(runs.mean(0), runs.std(0))]
        print(f"{hidden!s:<28}" + "".join(f"{x:>15}" for x in cells) + f"{cpu:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
