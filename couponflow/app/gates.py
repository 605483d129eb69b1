"""Running the marts and campaign gates on what the warehouse and the lake hold, and what a
failing gate leaves behind.

The gates in ``expectations/`` take frames and return results; this module reads the frames
(the marts through the warehouse, our past sends and the do-not-contact list from the lake) and
``enforce`` ends a gate: when any table failed, its data and validation result go to
``quarantine/<gate>/date=D/<table>/`` and ``GateFailed`` stops the run before anything
downstream is written.
"""

from __future__ import annotations

import io
import json
from datetime import date

import numpy as np
import pandas as pd

from couponflow.platform import manifest
from couponflow.platform.contacts import do_not_contact, our_sends
from couponflow.platform.gate_results import GateFailed, GateRun
from couponflow.platform.lake import GATES, REPORT_GATES, date_of, dated_area, dated_prefix
from couponflow.platform.quarantine import write_quarantine
from couponflow.platform.resources import Resources
from couponflow.platform.storage import ObjectStore
from expectations import campaign_gate, marts_gate
from models.decision import CampaignDecision
from models.eligibility import in_control_group


def _parquet(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def enforce(store: ObjectStore, run: GateRun, day: date) -> GateRun:
    """Pass the run through, or quarantine its failures and raise ``GateFailed``."""
    if run.failures:
        for result in run.failures:
            frame = run.frames.get(result.table)
            write_quarantine(store, result, day, {} if frame is None else {f"{result.table}.parquet": _parquet(frame)})
        raise GateFailed(run.failures, run.results)
    return run


def check_marts(res: Resources, run_dates: list[date]) -> GateRun:
    """The marts gate on the run dates' frames, read from the warehouse; the household features
    only of the as-of dates after the last date whose marts gate passed (``marts_gated_through``)."""
    since = marts_gated_through(res.store, min(run_dates))
    return marts_gate.validate_marts(marts_gate.marts_frames(res.warehouse.query, run_dates, since), run_dates)


def marts_gated_through(store: ObjectStore, before: date) -> date | None:
    """The newest run date before ``before`` whose gate record (``gates/date=D/``, published only
    once its gates passed) holds a marts gate that ran: every as-of date through it was checked,
    by that run or an earlier one. None when there is none (a fresh lake: check every date)."""
    listed = {date_of(k) for k in store.list(dated_area(GATES)) if k.endswith("/" + manifest.MANIFEST)}
    for day in sorted((d for d in listed if d < before), reverse=True):
        ds = manifest.read(store, dated_prefix(GATES, day))
        if ds is None or not any(o["name"] == REPORT_GATES for o in ds.objects):
            continue
        record = json.loads(manifest.read_object(store, ds, REPORT_GATES))
        if not record.get("failure") and record.get("gates", {}).get("marts", {}).get("ran"):
            return day
    return None


def campaign_inputs(res: Resources, decision: CampaignDecision) -> campaign_gate.CampaignInputs:
    """What the campaign gate checks a decision against, read again from the lake (independently
    of the decision log): the do-not-contact list and our sends in the trailing window."""
    settings = res.settings

    def control(households: np.ndarray) -> np.ndarray:
        return in_control_group(households, settings.control_share, settings.control_salt)

    return campaign_gate.CampaignInputs(
        decision,
        settings,
        control,
        do_not_contact=frozenset(do_not_contact(res.store)),
        past_sends=our_sends(res.store, decision.run_date, res.settings.contact_window_days),
    )


def check_campaign(
    res: Resources, decision: CampaignDecision, gate: campaign_gate.CampaignGate | None = None
) -> GateRun:
    return (gate or campaign_gate.DEFAULT_GATE).run(campaign_inputs(res, decision))
