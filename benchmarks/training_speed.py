"""Training speed on the CPU, and on a GPU where one is available, with CPU/GPU agreement.

Trains each family (one network) and the default configuration (``TrainConfig()``, which may be
an ensemble of several networks) on every fully observed campaign of the year (the largest
training set the data offers), repeats it to report a stable rate, and when CUDA is available
trains the same seed on the GPU and compares the scores with the CPU's. Epochs are summed over
an ensemble's members; examples/s = training rows x epochs / wall time.
Usage:  .venv/bin/python benchmarks/training_speed.py [--home DIR] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _year import home_argument, year_examples

from models.training import TrainConfig, train


def timed(rows, config, device):
    t0 = time.perf_counter()
    model = train(rows, config, device=torch.device(device))
    wall = time.perf_counter() - t0
    return model, wall, model.info["epochs"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    home_argument(ap)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--examples",
        default=None,
        help="read training_examples from this parquet file instead of a home (for a GPU machine)",
    )
    args = ap.parse_args()
    examples = pd.read_parquet(args.examples) if args.examples else year_examples(args.home)
    rows = examples[examples["label_is_final"] & ~examples["is_censored"]]
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(
        f"{len(rows)} training rows; torch {torch.__version__}; threads {torch.get_num_threads()}; "
        f"GPU: {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none available'}"
    )
    default = TrainConfig()
    configs = [(f, replace(default, family=f, n_members=1)) for f in ("logistic", "mlp", "wide_deep")]
    configs.append((f"default: {default.family} x{default.n_members}", default))
    print(f"{'model':<18}{'device':<8}{'wall s (median)':>16}{'epochs':>8}{'examples/s':>14}")
    for name, config in configs:
        scores = {}
        for device in devices:
            runs = [timed(rows, config, device) for _ in range(args.repeats)]
            wall = float(np.median([r[1] for r in runs]))
            epochs = runs[0][2]
            scores[device] = runs[0][0].predict(rows)
            n_train = runs[0][0].info["train_rows"]
            print(f"{name:<18}{device:<8}{wall:>16.2f}{epochs:>8}{n_train * epochs / wall:>14,.0f}")
        if "cuda" in scores:
            diff = np.abs(scores["cpu"] - scores["cuda"]).max()
            print(f"{'':<18}CPU/GPU max |score difference| = {diff:.2e}")
    if len(devices) == 1:
        print("no GPU on this machine: CPU only (run it where torch.cuda.is_available() for the GPU rows)")


if __name__ == "__main__":
    main()
