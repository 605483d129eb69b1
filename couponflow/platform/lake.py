"""The lake's layout: every key prefix and object name, in one place.

Keys are ``/``-separated paths inside the store (a local directory or a bucket prefix):

    raw/<table>/date=D/            part-0.parquet, validation.json, manifest.json (daily tables)
    raw/<table>/snapshot/version=N/   the same, for the static tables: one folder per version
                                   (N = 1, 2, ...; its manifest says from which day it is current)
    quarantine/<gate>/date=D/<table>/   what a gate rejected, with its validation result
    campaigns/date=D/              sends.parquet + manifest (the day's commit point)
    campaigns/latest.json          the latest completely published date (for consumers)
    decisions/date=D/              decisions.parquet + manifest (every candidate, for learning)
    gates/date=D/                  gates.json: the gate record of D, published before the campaign
    replay/campaigns/date=D/, replay/decisions/date=D/   replays on history, never mixed in
    reports/date=D/                index.html, report.json, gates.json, data-docs/
    reports/data-dictionary/<digest>/   dbt's docs of one project version and schema (linked)
    runs/<run_id>.json             one record per flow run
    registry/versions/vN/, registry/champion.json, registry/decisions/NNNNNN.json
    config/do_not_contact.csv      the operators' do-not-contact list (optional)
    erasures/<timestamp>-<hash>.json, erasures/salt.json   forget's requests (hashed ids, never in clear)
    segments/cut=C/                segmentation.json: one fit of the behavioural segments (aggregates only)
    segments/date=D/               segments.parquet: the segment of each candidate household of D
"""

from __future__ import annotations

from datetime import date

# object names
PART = "part-0.parquet"  # a raw partition's data
VALIDATION = "validation.json"  # a gate's result, beside the data it describes
SENDS = "sends.parquet"
DECISIONS = "decisions.parquet"
REPORT_PAGE = "index.html"
REPORT_DATA = "report.json"
REPORT_GATES = "gates.json"
DATA_DOCS = "data-docs"
DATA_DICTIONARY = "data-dictionary"
SEGMENTATION = "segmentation.json"
SEGMENT_TABLE = "segments.parquet"

# areas
RAW = "raw"
QUARANTINE = "quarantine"
CAMPAIGNS = "campaigns"
DECISION_LOGS = "decisions"
GATES = "gates"
REPORTS = "reports"
RUNS = "runs"
REPLAY = "replay/"
REGISTRY = "registry"
DO_NOT_CONTACT = "config/do_not_contact.csv"
ERASURES = "erasures"
SEGMENTS = "segments"
LATEST_CAMPAIGN = f"{CAMPAIGNS}/latest.json"


def raw_prefix(table: str, day: date) -> str:
    """A daily table's partition of ``day`` (a snapshot's versions: ``snapshot_prefix``)."""
    return f"{RAW}/{table}/date={day.isoformat()}"


SNAPSHOT_VERSION = "version="


def snapshot_prefix(table: str, version: int | None = None) -> str:
    """One version of a static table's snapshot, or (``version`` None) the folder of all of them."""
    base = f"{RAW}/{table}/snapshot/"
    return base if version is None else f"{base}{SNAPSHOT_VERSION}{version}"


def raw_table_prefix(table: str, *, daily_only: bool = False) -> str:
    return f"{RAW}/{table}/date=" if daily_only else f"{RAW}/{table}/"


def quarantine_prefix(gate: str, day: date | None, table: str) -> str:
    return f"{QUARANTINE}/{gate}/date={day.isoformat() if day else 'snapshot'}/{table}"


def dated_prefix(area: str, day: date, *, replay: bool = False) -> str:
    """``campaigns``, ``decisions`` and ``reports`` datasets of one run date (under ``replay/``
    for a replay on history)."""
    return f"{REPLAY if replay else ''}{area}/date={day.isoformat()}"


def dated_area(area: str) -> str:
    """The prefix under which every date of an area is listed."""
    return f"{area}/date="


def date_of(key: str) -> date:
    """The date in a ``.../date=YYYY-MM-DD/...`` key."""
    return date.fromisoformat(key.split("date=")[1].split("/")[0])


def data_dictionary_prefix(digest: str) -> str:
    """dbt's docs site of one project version and warehouse schema, shared by every report."""
    return f"{REPORTS}/{DATA_DICTIONARY}/{digest}"


def segmentation_prefix(cut: date) -> str:
    """One fit of the behavioural segments (``models.segments``), fitted as of ``cut``."""
    return f"{SEGMENTS}/cut={cut.isoformat()}"


def run_record_key(run_id: str) -> str:
    return f"{RUNS}/{run_id}.json"
