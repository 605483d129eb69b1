"""Shared by the benchmarks: a home with the whole Complete Journey year landed and built."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd


def year_examples(home: str | None) -> pd.DataFrame:
    """training_examples of the full year; builds the home first when it has no lake yet."""
    from couponflow.platform.warehouse import query_df

    return query_df(year_settings(home), "select * from marts.training_examples order by campaign_id, household_id")


def year_settings(home: str | None):
    """Settings of a home with the whole year landed and built (built first when needed)."""
    from couponflow.app.ingest import land_through
    from couponflow.platform.config import load_settings
    from couponflow.platform.sources.completejourney import CompleteJourneySource
    from couponflow.platform.storage import LocalStore
    from couponflow.platform.warehouse import expose_lake, run_dbt

    settings = load_settings(home=Path(home or tempfile.mkdtemp(prefix="couponflow-bench-")))
    source = CompleteJourneySource()
    store = LocalStore(settings.lake_dir)
    land_through(store, source, source.last_day)
    expose_lake(settings, store)
    run_dbt(settings, "build")  # always: a reused home's warehouse may predate the models (seconds when current)
    return settings


def home_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--home",
        default=None,
        help="a couponflow home to (re)use; default: a fresh temporary one (lands the year, ~1 min)",
    )
