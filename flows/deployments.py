"""The deployments a Prefect server runs: daily on its cron, backfill on demand, train weekly.

Schedules are in ``COUPONFLOW_TIMEZONE`` (``Settings.timezone``). ``couponflow serve`` serves these
from one process (no work pool) with ``pause_on_shutdown=False``, so that stopping or restarting
the process leaves the schedules active; ``prefect.yaml`` declares the same flows for a process
work pool (``prefect deploy --all``). A scheduled daily run decides the next date not yet
published (``daily()`` without a date); parameters are checked by each flow before any work.
"""

from __future__ import annotations

from prefect.schedules import Cron

from couponflow.platform.config import Settings
from flows.daily import backfill, daily
from flows.train import train


def deployments(settings: Settings) -> list:
    tz = settings.timezone
    return [
        daily.to_deployment(
            name="daily",
            schedule=Cron(settings.daily_cron, timezone=tz),
            description="Decide and publish the next date not yet published (or run_date)",
        ),
        backfill.to_deployment(name="backfill", description="On demand: land, build and decide [start, end]"),
        train.to_deployment(
            name="train",
            schedule=Cron(settings.train_cron, timezone=tz),
            description="Train a challenger and promote it only if it is measurably better and sane",
        ),
    ]
