"""Hyper-parameter choice at the tuning cut 2017-05-08, disjoint from the reported cuts.

Trains on campaigns that ended before 2017-05-08 and evaluates on the campaigns that started
between 2017-05-08 and 2017-08-07 (8 to 12), so the campaigns the quality benchmark reports
(13 onwards) are never looked at. Three seeds per configuration: mean and spread.
Usage:  .venv/bin/python benchmarks/model_tuning.py [--home DIR]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _year import home_argument, year_examples  # noqa: E402

from models.evaluation import all_metrics  # noqa: E402
from models.scoring import v0_scorer  # noqa: E402
from models.training import TrainConfig, train  # noqa: E402

CUT, UNTIL = pd.Timestamp("2017-05-08"), pd.Timestamp("2017-08-08")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    home_argument(ap)
    examples = year_examples(ap.parse_args().home)
    tr = examples[examples["end_date"] < CUT]
    ev = examples[(examples["as_of_date"] >= CUT) & (examples["as_of_date"] < UNTIL)]
    y, c = ev["label"].to_numpy(), ev["campaign_id"].to_numpy()
    print(f"tuning cut {CUT.date()}: {len(tr)} training rows ({int(tr['label'].sum())} redeemers), "
          f"evaluated on campaigns {sorted(ev['campaign_id'].unique())} ({int(y.sum())} redeemers)")
    v0 = all_metrics(y, v0_scorer(5.0).predict(ev), c)
    print(f"{'config':<44}{'AUCwc':>16}{'log loss':>10}{'capture@20':>12}")
    print(f"{'v0 rule':<44}{v0['auc_within_campaign']:>16.4f}{v0['log_loss']:>10.4f}{v0['capture_20']:>12.4f}")
    for family, lr, wd, dropout in itertools.product(
            ["logistic", "mlp", "wide_deep"], [None, 0.001], [1e-4, 1e-2], [0.1, 0.3]):
        if family == "logistic" and dropout != 0.1:
            continue
        cfg = TrainConfig(family=family, lr=lr, weight_decay=wd, dropout=dropout)
        runs = np.array([[m["auc_within_campaign"], m["log_loss"], m["capture_20"]] for m in (
            all_metrics(y, train(tr, replace(cfg, seed=s)).predict(ev), c) for s in range(3))])
        name = f"{family} lr={lr or 'default'} wd={wd} dropout={dropout}"
        print(f"{name:<44}{runs[:, 0].mean():>9.4f}±{runs[:, 0].std():.4f}{runs[:, 1].mean():>10.4f}"
              f"{runs[:, 2].mean():>12.4f}")


if __name__ == "__main__":
    main()
