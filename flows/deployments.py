"""The deployments a Prefect server runs: daily on its cron, backfill on demand, train weekly.

Schedules are in ``COUPONFLOW_TIMEZONE`` (``Settings.timezone``). ``couponflow serve`` serves these
from one process (no work pool) with ``pause_on_shutdown=False``, so that stopping or restarting
the process leaves the schedules active; ``prefect.yaml`` declares the same flows for a process
work pool (``prefect deploy --all``). A scheduled daily run catches up (``daily(catch_up=True)``):
every date not yet published up to its schedule's date, in order, late ones flagged; parameters
are checked by each flow before any work.

Alerts under a server: a failed run alerts from its own process (the flows' ``on_failure``
hook, ``flows/alerts.py``, which knows the stage, the fix and the report); a run that *crashed*
(its process killed, out of memory, the worker gone) runs no hook, so ``ensure_alert_automation``
registers a Prefect automation that sends the notification from the server on a crashed run of
these flows, through a notification block that holds ``COUPONFLOW_ALERT_URL`` (an apprise URL,
stored as the block's secret). Failed runs are left to the hook: one alert per run, never two.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import cast
from uuid import UUID

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
            parameters={"catch_up": True},  # DESIGN, scheduled runs: every missed date, in order
            description="Decide every date not yet published up to the schedule's date, in order (late ones flagged)",
        ),
        backfill.to_deployment(name="backfill", description="On demand: land, build and decide [start, end]"),
        train.to_deployment(
            name="train",
            schedule=Cron(settings.train_cron, timezone=tz),
            description="Train a challenger and promote it only if it is measurably better and sane",
        ),
    ]


ALERT_AUTOMATION = "couponflow-crashed-run-alert"
ALERT_BLOCK = "couponflow-alert-url"
ALERTED_FLOWS = ("daily", "backfill", "train", "replay")
_ALERT_BODY = (
    "flow: {{ flow.name }}\n"
    "flow run: {{ flow_run.name }} ({{ flow_run.id }})\n"
    "what failed: the run crashed: {{ flow_run.state.message }}\n"
    "fix: read the flow run's log on the Prefect server; a crashed run left no run record of its "
    "stop: re-run the date (a re-run finishes the job)"
)


def alert_automation(block_document_id: UUID):
    """The automation: a crashed flow run of ours notifies through the given notification block."""
    from prefect.automations import Automation
    from prefect.events.actions import SendNotification
    from prefect.events.schemas.automations import EventTrigger, Posture

    return Automation(
        name=ALERT_AUTOMATION,
        description="couponflow: a crashed run of " + ", ".join(ALERTED_FLOWS) + " notifies COUPONFLOW_ALERT_URL",
        trigger=EventTrigger(
            expect={"prefect.flow-run.Crashed"},
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={"prefect.resource.role": "flow", "prefect.resource.name": list(ALERTED_FLOWS)},
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        ),
        actions=[
            SendNotification(
                block_document_id=block_document_id,
                subject="couponflow {{ flow.name }}: the run crashed",
                body=_ALERT_BODY,
            )
        ],
    )


def ensure_alert_automation(settings: Settings) -> UUID | None:
    """Register (or replace) the crashed-run automation on the Prefect server the client talks
    to; returns its id. Without ``COUPONFLOW_ALERT_URL`` an existing one is removed and None
    returned. The URL goes only into the block's secret field, never into the automation."""
    from prefect.automations import Automation
    from prefect.blocks.notifications import SlackWebhook

    with contextlib.suppress(ValueError):  # ValueError: none yet (sync calls: async_dispatch's types are a union)
        cast(Automation, Automation.read(name=ALERT_AUTOMATION)).delete()
    if settings.alert_url is None:
        return None
    # SlackWebhook is Prefect's built-in apprise block: a URL that is not a Slack webhook goes to
    # apprise as it is (json://, mailto://, ...), and the server knows the block type
    block_id = cast(UUID, SlackWebhook(url=settings.alert_url, notify_type="failure").save(ALERT_BLOCK, overwrite=True))
    created = alert_automation(block_id).create()
    return created.id
