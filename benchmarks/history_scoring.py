"""What the history features cost a daily run that scores with a champion that needs them, and
what storing the affinity's category factors with the model version would save.

For each run date: the candidates of that date (marts.scoring_candidates), then

1. the scoring path (``couponflow.app.history_inputs.with_history_as_of``): the rows the date's
   features need, cut in SQL before the date (every earlier row for the affinity, the last 26
   weeks for the sequences), and the features built from them; split into the read and the build;
2. the training path on the same rows (``with_history_features``: the whole history read and
   coded, then cut at the date), which is what scoring a day cost before;
3. ``models.affinity.fit_factors`` alone (the eigendecomposition of the Gram matrix): the only
   step storing the category factors V with the version would remove, since a household's
   projection as of S still sums its whole history before S.

The two paths' features are compared bit for bit. Usage:
    .venv/bin/python benchmarks/history_scoring.py [--home DIR | --warehouse FILE]
(--warehouse: a built warehouse.duckdb, copied to a temporary home first; --home: a home,
built first when needed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DATES = (date(2017, 5, 8), date(2017, 8, 8), date(2017, 10, 30), date(2017, 12, 28))
REPEATS = 3


def _settings(args: argparse.Namespace):
    from couponflow.platform.config import load_settings

    if args.warehouse:
        settings = load_settings(home=Path(tempfile.mkdtemp(prefix="couponflow-bench-")))
        settings.home_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(args.warehouse, settings.warehouse_path)
        return settings
    from benchmarks._year import year_settings

    return year_settings(args.home)


def _best(fn, *args, repeats: int = REPEATS):
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--home", default=None)
    group.add_argument("--warehouse", default=None)
    args = parser.parse_args()

    from couponflow.app.decision_inputs import load_candidates
    from couponflow.app.history_inputs import (
        history_as_of,
        history_columns,
        load_history,
        with_history_as_of,
        with_history_features,
    )
    from couponflow.platform.warehouse import Warehouse
    from models.affinity import fit_factors
    from models.training import TrainConfig

    wh = Warehouse(_settings(args))
    print(f"load before: {os.getloadavg()[0]:.1f} (1-min average), best of {REPEATS}")
    configs = {
        "gru+emb": TrainConfig(family="gru", affinity=True),
        "gru": TrainConfig(family="gru"),
        "mlp+emb": TrainConfig(affinity=True),
    }
    print(
        f"{'run date':<12}{'features':<9}{'cands':>7}{'rows read':>11}{'read s':>8}{'build s':>8}"
        f"{'scoring s':>10}{'training-path s':>16}{'fit_factors s':>14}  equal"
    )
    with wh.session():
        for day in DATES:
            cands = load_candidates(wh, day)
            if cands.empty:
                continue
            for name, config in configs.items():
                t_read, history = _best(history_as_of, wh, day, config)
                t_all, built = _best(with_history_as_of, wh, cands, config)
                as_examples = cands.assign(as_of_date=pd.Timestamp(day))
                t_train, trained = _best(with_history_features, wh, as_examples, config, repeats=1)
                cols = history_columns(config)
                equal = np.array_equal(built[cols].to_numpy(), trained[cols].to_numpy(), equal_nan=True)
                t_fit = float("nan")
                if config.affinity:
                    full = load_history(wh)
                    t_fit, _ = _best(fit_factors, full, day)
                print(
                    f"{day.isoformat():<12}{name:<9}{len(cands):>7}{len(history.days):>11}{t_read:>8.2f}"
                    f"{t_all - t_read:>8.2f}{t_all:>10.2f}{t_train:>16.2f}{t_fit:>14.3f}  {equal}"
                )
    print(f"load after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
