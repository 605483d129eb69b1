"""Backtests at the reported cuts, for every model family and the baselines, with intervals.

Hyper-parameters were chosen at the earlier tuning cut (benchmarks/model_tuning.py), never here.
Usage:  .venv/bin/python benchmarks/model_quality.py [--home DIR] [--cuts 2017-08-08 2017-10-30]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _year import home_argument, year_examples  # noqa: E402

from models.backtest import backtest, format_table  # noqa: E402
from models.training import TrainConfig  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    home_argument(ap)
    ap.add_argument("--cuts", nargs="+", default=["2017-08-08", "2017-10-30"])
    args = ap.parse_args()
    examples = year_examples(args.home)
    for cut in args.cuts:
        t0 = time.perf_counter()
        result = backtest(examples, date.fromisoformat(cut), TrainConfig(), families=("logistic", "mlp", "wide_deep"))
        print(format_table(result))
        print(f"(model = the default family, {TrainConfig().family}; {time.perf_counter() - t0:.1f} s)\n")


if __name__ == "__main__":
    main()
