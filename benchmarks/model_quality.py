"""Backtests at the reported cuts, for every model family and the baselines, with intervals.

Hyper-parameters were chosen at the earlier tuning cut (benchmarks/model_tuning.py), never here.
After each cut's table, the spread over training seeds: the default and the logistic regression
trained with base seeds 0, 5 and 10 (``--seeds``), mean ± standard deviation of each metric, to
show which differences a reseed would flip. It is reported here, not used to choose anything.
Usage:  .venv/bin/python benchmarks/model_quality.py [--home DIR] [--cuts 2017-08-08 2017-10-30] [--seeds 0 5 10]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _year import home_argument, year_examples

from models.backtest import backtest, evaluated_rows, format_table, metrics_over_seeds, scored_rows, training_rows
from models.evaluation import METRICS
from models.training import TrainConfig


def seed_spread(examples, cut: date, seeds: list[int]) -> str:
    """Each metric's mean ± sd over training seeds, for the default and the logistic regression."""
    tr, ev = training_rows(examples, cut), evaluated_rows(scored_rows(examples, cut))
    lines = [f"over base seeds {seeds} (mean ± sd)", f"{'model':<12}" + "".join(f"{m:>{len(m) + 8}}" for m in METRICS)]
    for name, cfg in [("model", TrainConfig()), ("logistic", TrainConfig(family="logistic"))]:
        runs = metrics_over_seeds(tr, ev, cfg, seeds)
        lines.append(
            f"{name:<12}"
            + "".join(f"{f'{mu:.4f}±{sd:.4f}':>{len(m) + 8}}" for m, mu, sd in zip(METRICS, runs.mean(0), runs.std(0)))
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    home_argument(ap)
    ap.add_argument("--cuts", nargs="+", default=["2017-08-08", "2017-10-30"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 5, 10])
    args = ap.parse_args()
    examples = year_examples(args.home)
    for cut in args.cuts:
        t0 = time.perf_counter()
        result = backtest(examples, date.fromisoformat(cut), TrainConfig(), families=("logistic", "mlp", "wide_deep"))
        print(format_table(result))
        print(f"(model = the default family, {TrainConfig().family}; {time.perf_counter() - t0:.1f} s)")
        print(seed_spread(examples, date.fromisoformat(cut), args.seeds) + "\n")


if __name__ == "__main__":
    main()
