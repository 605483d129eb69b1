"""Every model family side by side: the choice at the tuning cut, then the backtests at the reported cuts.

0. The features the new families need, built for every example of the year (each as of its own
   campaign start) and for one as-of date alone (what scoring a day costs).
1. The choice, at the tuning cut 2017-05-08 only (never at a reported cut): trained on campaigns
   that ended before it, evaluated on those that started on or after it and ended before the
   first reported cut (8, 9, 10). A challenger becomes the default only if it beats the current
   default on within-campaign AUC and on pooled PR AUC, with no metric worse beyond its 90%
   paired household-cluster bootstrap interval.
2. At each reported cut, every family and baseline: the fully observed campaigns (the quality
   bar), pooled over every campaign after the cut that has something observed (the partly
   observed ones on their observed window), the partly observed apart, and per campaign
   (models.backtest). Hyper-parameters were chosen at the tuning cut (benchmarks/model_tuning.py).
3. Optionally (``--seeds``), the spread over training seeds of the default and the logistic
   regression: reported, never chosen on.

The challengers: ``mlp+emb`` (the default's configuration with the affinity embeddings'
features, models.affinity), ``gru`` (models.sequences, the default's hidden layers and dropout;
one network, batches of 512: on 2 shared cores a seed ensemble of GRUs costs minutes per cut).
Usage:  .venv/bin/python benchmarks/model_quality.py [--home DIR] [--cuts 2017-08-08 2017-10-30] [--seeds 0 5 10]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _year import home_argument, year_settings

from models.affinity import features_as_of, with_affinity
from models.backtest import (
    backtest,
    better,
    evaluated_rows,
    format_table,
    metrics_over_seeds,
    scored_rows,
    training_rows,
)
from models.evaluation import METRICS, all_metrics, bootstrap_differences
from models.history import History
from models.sequences import sequences_as_of, with_sequences
from models.training import TrainConfig, train

TUNING_CUT, UNTIL = pd.Timestamp("2017-05-08"), pd.Timestamp("2017-08-08")
DEFAULT = TrainConfig()
CHALLENGERS = {
    "mlp+emb": replace(DEFAULT, affinity=True),
    "gru": replace(DEFAULT, family="gru", n_members=1, batch_size=512),
}


def load(home: str | None) -> tuple[pd.DataFrame, History]:
    from couponflow.app.history_inputs import load_history
    from couponflow.platform.warehouse import Warehouse, query_df

    settings = year_settings(home)
    examples = query_df(settings, "select * from marts.training_examples order by campaign_id, household_id")
    wh = Warehouse(settings)
    with wh.session():
        history = load_history(wh)
    return examples, history


def feature_costs(examples: pd.DataFrame, history: History) -> tuple[pd.DataFrame, list[str]]:
    t0 = time.perf_counter()
    history.coded  # noqa: B018 - the codes, once per process
    t1 = time.perf_counter()
    out = with_sequences(with_affinity(examples, history), history)
    t2 = time.perf_counter()
    one = examples[examples["as_of_date"] == examples["as_of_date"].max()]
    s = one["as_of_date"].iloc[0]
    t3 = time.perf_counter()
    features_as_of(one, history, s)
    t4 = time.perf_counter()
    sequences_as_of(one, history, s)
    t5 = time.perf_counter()
    lines = [
        f"0. features: history {len(history.days)} rows (household_category_days), coded in {t1 - t0:.2f} s; "
        f"affinity + sequences for all {len(examples)} examples ({examples['as_of_date'].nunique()} as-of dates) "
        f"{t2 - t1:.1f} s; for one as-of date ({s.date()}, {len(one)} pairs): affinity {t4 - t3:.3f} s, "
        f"sequences {t5 - t4:.3f} s"
    ]
    return out, lines


def choice(examples: pd.DataFrame, n_boot: int) -> list[str]:
    tr = examples[examples["end_date"] < TUNING_CUT].sort_values(["campaign_id", "household_id"])
    ev = examples[(examples["as_of_date"] >= TUNING_CUT) & (examples["end_date"] < UNTIL)].sort_values(
        ["campaign_id", "household_id"]
    )
    y, c, h = (ev[k].to_numpy() for k in ("label", "campaign_id", "household_id"))
    lines = [
        "",
        f"1. the choice at the tuning cut {TUNING_CUT.date()}: {len(tr)} training rows ({int(tr['label'].sum())} "
        f"redeemers), evaluated on campaigns {sorted(int(x) for x in np.unique(c))} ({int(y.sum())} redeemers)",
    ]
    scores, seconds = {}, {}
    for name, cfg in {"default": DEFAULT, **CHALLENGERS}.items():
        t0 = time.perf_counter()
        scores[name] = train(tr, cfg).predict(ev)
        seconds[name] = time.perf_counter() - t0
    cols = list(METRICS)
    lines.append(f"{'model':<12}" + "".join(f"{m:>{len(m) + 2}}" for m in cols) + f"{'train s':>9}")
    for name, p in scores.items():
        m = all_metrics(y, p, c)
        lines.append(f"{name:<12}" + "".join(f"{m[k]:>{len(k) + 2}.4f}" for k in cols) + f"{seconds[name]:>9.1f}")
    lines.append(f"{'minus default':<12}")
    for name in CHALLENGERS:
        d = bootstrap_differences(METRICS, y, scores["default"], scores[name], c, h, n_boot=n_boot)
        lines.append(
            f"{name:<12}" + "".join(f"{f'{d[k].value:+.4f} [{d[k].low:+.4f},{d[k].high:+.4f}]':>27}" for k in cols)
        )
        up = {k: better(k, v) for k, v in d.items()}
        beats = up["auc_within_campaign"].value > 0 and up["pr_auc"].value > 0
        worse = [k for k, v in up.items() if v.high < 0]
        verdict = (
            "becomes the default"
            if beats and not worse
            else "stays a challenger: "
            + "; ".join(
                ([] if up["auc_within_campaign"].value > 0 else [f"AUCwc {d['auc_within_campaign'].value:+.4f}"])
                + ([] if up["pr_auc"].value > 0 else [f"PR AUC {d['pr_auc'].value:+.4f}"])
                + [f"worse beyond the interval on {k}" for k in worse]
            )
        )
        lines.append(f"  rule for {name}: beats the default on AUCwc and pooled PR AUC, none worse: {verdict}")
    return lines


def seed_spread(examples, cut: date, seeds: list[int]) -> str:
    """Each metric's mean ± sd over training seeds, for the default and the logistic regression."""
    tr, ev = training_rows(examples, cut), evaluated_rows(scored_rows(examples, cut))
    lines = [f"over base seeds {seeds} (mean ± sd)", f"{'model':<12}" + "".join(f"{m:>{len(m) + 8}}" for m in METRICS)]
    for name, cfg in [("model", DEFAULT), ("logistic", TrainConfig(family="logistic"))]:
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
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 5, 10], help="none: skip the seed spread")
    ap.add_argument("--n-boot", type=int, default=300)
    ap.add_argument("--skip-choice", action="store_true", help="only the reported cuts (sections 0 and 2)")
    args = ap.parse_args()
    examples, history = load(args.home)
    examples, lines = feature_costs(examples, history)
    print("\n".join(lines), flush=True)
    if not args.skip_choice:
        print("\n".join(choice(examples, args.n_boot)) + "\n", flush=True)
    for cut in args.cuts:
        t0 = time.perf_counter()
        result = backtest(
            examples,
            date.fromisoformat(cut),
            DEFAULT,
            families=("logistic", "wide_deep"),
            variants=CHALLENGERS,
            n_boot=args.n_boot,
        )
        print("2. " + format_table(result))
        print(f"(model = the default family, {DEFAULT.family}; {time.perf_counter() - t0:.1f} s)", flush=True)
        if args.seeds:
            print(seed_spread(examples, date.fromisoformat(cut), args.seeds))
        print()


if __name__ == "__main__":
    main()
