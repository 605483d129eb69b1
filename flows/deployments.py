"""The scheduled deployments: the daily job and the weekly training."""

from __future__ import annotations

from couponflow.platform.config import Settings
from flows.daily import daily
from flows.train import train


def deployments(settings: Settings) -> list:
    return [
        daily.to_deployment(name="daily", cron=settings.daily_cron),
        train.to_deployment(name="train", cron=settings.train_cron),
    ]
