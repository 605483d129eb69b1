"""Publishing a decision, and reading what was published.

``publish_campaign`` writes ``decisions/date=D/`` (every candidate, for off-policy learning) and
then ``campaigns/date=D/`` (the sends): manifest last, the campaigns manifest being the day's
commit point. A replay on history publishes under ``replay/`` so that it never mixes with real
campaigns. The file formats (the schemas below) are the consumers' contract.
"""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from couponflow.platform import manifest
from couponflow.platform.config import Settings
from couponflow.platform.lake import CAMPAIGNS, DECISION_LOGS, DECISIONS, LATEST_CAMPAIGN, SENDS, dated_prefix
from couponflow.platform.storage import ObjectStore
from couponflow.platform.version import code_version
from models.decision import SENDS_COLUMNS, CampaignDecision, policy_settings

SENDS_SCHEMA = pa.schema(
    [
        ("household_id", pa.int64()),
        ("campaign_id", pa.int64()),
        ("score", pa.float64()),
        ("propensity", pa.float64()),
        ("arm", pa.string()),
        ("expected_cost", pa.float64()),
    ]
)
DECISIONS_SCHEMA = pa.schema(
    [
        ("run_date", pa.date32()),
        ("household_id", pa.int64()),
        ("campaign_id", pa.int64()),
        ("campaign_type", pa.string()),
        ("status", pa.string()),
        ("score", pa.float64()),
        ("expected_cost", pa.float64()),
        ("chosen", pa.bool_()),
        ("arm", pa.string()),
        ("p_selected", pa.float64()),
        ("propensity", pa.float64()),
    ]
)
assert tuple(SENDS_SCHEMA.names) == SENDS_COLUMNS


def _table(df: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pandas(df[schema.names], schema=schema, preserve_index=False)


def publish_campaign(
    store: ObjectStore,
    settings: Settings,
    decision: CampaignDecision,
    *,
    force: bool = False,
    replay: bool = False,
) -> manifest.Dataset:
    """Publish the decision log, then the campaign (its manifest is the day's commit point).

    A forced re-publish withdraws the campaign first: a crash before the new one is complete leaves
    the date unpublished (the next run decides it again), never old sends beside a new decision
    log that a later run would reuse."""
    day = decision.run_date
    meta = {
        "kind": "campaign",
        "run_date": day.isoformat(),
        "code_version": code_version(),
        "mode": "replay" if replay else "live",
        "model": decision.model,
        "policy": policy_settings(settings),
    }
    if force:
        manifest.withdraw(store, dated_prefix(CAMPAIGNS, day, replay=replay))
    manifest.publish(
        store,
        dated_prefix(DECISION_LOGS, day, replay=replay),
        {DECISIONS: manifest.parquet_bytes(_table(decision.decisions, DECISIONS_SCHEMA))},
        {**meta, "kind": "decisions"},
        force=force,
    )
    return manifest.publish(
        store,
        dated_prefix(CAMPAIGNS, day, replay=replay),
        {SENDS: manifest.parquet_bytes(_table(decision.sends, SENDS_SCHEMA))},
        {**meta, "summary": decision.summary},
        force=force,
    )


def latest_campaign(store: ObjectStore) -> dict[str, Any] | None:
    """``campaigns/latest.json``: the latest date whose campaign is completely published."""
    try:
        return json.loads(store.get(LATEST_CAMPAIGN))
    except KeyError:
        return None


def advance_latest(store: ObjectStore, day: date) -> dict[str, Any]:
    """Point ``campaigns/latest.json`` at ``day`` once its campaign is published (its manifest,
    written last, exists), unless a later date is already the latest: a
    backfill of older dates never moves it back. Same inputs, same bytes; a re-run repairs a
    pointer that a crash left behind."""
    ds = published_campaign(store, day)
    if ds is None:
        raise ValueError(f"{day} has no published campaign to point campaigns/latest.json at")
    current = latest_campaign(store)
    if current is not None and date.fromisoformat(current["run_date"]) > day:
        return current
    pointer = {
        "schema_version": manifest.SCHEMA_VERSION,
        "run_date": day.isoformat(),
        "campaign": ds.prefix,
        "manifest_sha256": manifest.sha256(store.get(ds.key(manifest.MANIFEST))),
        "sends": ds.rows(),
    }
    if current != pointer:
        store.put(LATEST_CAMPAIGN, manifest.to_json_bytes(pointer))
    return pointer


def published_campaign(store: ObjectStore, day: date) -> manifest.Dataset | None:
    return manifest.read(store, dated_prefix(CAMPAIGNS, day))


def published_decisions(
    store: ObjectStore, day: date, *, replay: bool = False
) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """The decision log published for ``day`` (under ``replay/`` for a replay) and its manifest."""
    ds = manifest.read(store, dated_prefix(DECISION_LOGS, day, replay=replay))
    if ds is None:
        return None
    return pq.read_table(io.BytesIO(manifest.read_object(store, ds, DECISIONS))).to_pandas(), ds.manifest
