"""``couponflow``: the command line over the flows.

The environment that keeps Prefect and dbt offline and inside the home folder is set before
Prefect is imported (Prefect reads its settings at import time); anything already set by the
caller (PREFECT_API_URL for server mode, a PREFECT_HOME of one's own) is left alone.
"""

from __future__ import annotations

import os
import posixpath
import shlex
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TypeVar

import typer

from couponflow.platform.config import SettingsError, load_settings, offline_environment
from couponflow.platform.lake import SENDS

T = TypeVar("T")

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="couponflow: decide every day which households receive which coupons.",
)


def _settings():
    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    for key, value in offline_environment(settings).items():
        os.environ.setdefault(key, value)
    settings.prefect_home.mkdir(parents=True, exist_ok=True)
    return settings


def _parse_date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        typer.echo(f"{name} {value!r} is not a date: use YYYY-MM-DD, e.g. 2017-10-30", err=True)
        raise typer.Exit(2) from None


def _required_date(value: str, name: str) -> date:
    day = _parse_date(value, name)
    assert day is not None  # typer refuses a missing required option before we get here
    return day


def _check_share(share: float | None, replay: bool) -> None:
    """``--share`` is a replay's share of the real recipients, in (0, 1]; refused before any work."""
    if share is None:
        return
    if not replay:
        typer.echo("--share applies to a replay only: add --replay, or drop --share", err=True)
        raise typer.Exit(2)
    if not 0 < share <= 1:
        typer.echo(
            f"--share {share} is outside (0, 1]: it is the share of a campaign's real recipients the replay "
            "may reach, e.g. --share 0.2",
            err=True,
        )
        raise typer.Exit(2)


def _check_dates(settings, *days: date | None):
    """Refuse a date the source cannot support before any flow (and Prefect server) starts; returns the source.

    A drop zone is checked first (exit 2 when misconfigured, 5 when unreachable, 3 when it holds no
    day yet), and a date past its latest day waits for the upstream (exit 3) rather than being wrong."""
    from couponflow.platform.schedule import RunDateError, check_run_date
    from couponflow.platform.sources import get_source

    source = get_source(settings)
    from couponflow.platform.sources.dropzone import DropZoneSource

    if isinstance(source, DropZoneSource):
        from datetime import timedelta

        from couponflow.platform.sources.base import UpstreamNotReady

        _verify(source.zone)
        try:
            last = source.last_day
        except UpstreamNotReady as exc:
            typer.echo(f"couponflow: {exc}", err=True)
            raise typer.Exit(3) from None
        later = [d for d in days if d is not None and d > last + timedelta(days=1)]
        if later:
            typer.echo(
                f"couponflow: upstream not ready: the drop zone's latest day is {last}, and a run for {max(later)} "
                f"lands the days through {max(later) - timedelta(days=1)}: retry when the upstream has dropped them",
                err=True,
            )
            raise typer.Exit(3)
    for day in days:
        if day is None:
            continue
        try:
            check_run_date(day, source.first_day, source.last_day)
        except RunDateError as exc:
            typer.echo(f"couponflow: {exc}", err=True)
            raise typer.Exit(2) from None
    return source


def _verify(store) -> None:
    """A store (the drop zone's) verified in seconds: misconfigured exits 2, unreachable exits 5."""
    _store_checked(store.verify)


def _store_checked(check: Callable[[], T]) -> T:
    """``check()``, with a misconfigured store as one line and exit 2, an unreachable one exit 5."""
    from couponflow.platform.storage import StoreMisconfigured, StoreUnreachable

    try:
        return check()
    except StoreMisconfigured as exc:
        typer.echo(f"couponflow: {exc}", err=True)
        raise typer.Exit(2) from None
    except StoreUnreachable as exc:
        typer.echo(f"couponflow: {exc}", err=True)
        raise typer.Exit(5) from None


def _check_reland(store, source, reland: date | None, last_run_date: date | None) -> None:
    """``--reland D`` names a landed drop-zone day that the run lands (before its last run date)."""
    if reland is None:
        return
    from couponflow.platform.landing import RelandError, check_reland

    try:
        check_reland(store, source, reland)
    except RelandError as exc:
        typer.echo(f"couponflow: {exc}", err=True)
        raise typer.Exit(2) from None
    if last_run_date is not None and reland >= last_run_date:
        typer.echo(
            f"couponflow: --reland {reland} is not before the run date {last_run_date}: a run lands only the days "
            "before it; pick a later --date",
            err=True,
        )
        raise typer.Exit(2)


def _lock_home(ctx: typer.Context, settings) -> None:
    """Hold the home's lock until the command ends (one run per home at a time, DESIGN "The lock").

    Taken by every command that writes the home or the lake, after the checks that exit 2 and
    before Prefect starts or any work is done; another run still holding it after
    COUPONFLOW_LOCK_WAIT_S seconds is refused with one line naming it, exit 4 (a scheduler retries).
    """
    from couponflow.platform.lock import HomeLocked, home_lock

    command = shlex.join(["couponflow", *sys.argv[1:]])
    try:
        ctx.with_resource(home_lock(settings, command))  # released when the command ends
    except HomeLocked as exc:
        typer.echo(f"couponflow: {exc}", err=True)
        raise typer.Exit(4) from None


def _check_store(settings):
    """The lake's store, checked before any flow (and Prefect) starts, in seconds: a bucket that
    does not exist or refused credentials exit 2, an endpoint that cannot be reached exits 5."""
    from couponflow.platform.storage import check_store

    return _store_checked(lambda: check_store(settings))


def _where(store, key: str) -> str:
    path = store.local_path(key)
    return str(path) if path is not None else f"{store.description}/{key}"


def _fail(exc: Exception) -> None:
    """A failed flow in one line: the stage that failed and its cause (flows/recording.py)."""
    from couponflow.platform.lock import HomeLocked
    from couponflow.platform.sources.base import UpstreamNotReady
    from couponflow.platform.storage import StoreMisconfigured, StoreUnreachable
    from flows.recording import failure_line

    typer.echo(f"couponflow: {failure_line(exc)}", err=True)
    code = 5 if isinstance(exc, StoreUnreachable) else 2 if isinstance(exc, StoreMisconfigured) else 1
    code = 4 if isinstance(exc, HomeLocked) else code  # the lake's limit under a server (flows/lake_limit.py)
    code = 3 if isinstance(exc, UpstreamNotReady) else code  # a drop zone's day is incomplete: retry later
    raise typer.Exit(code) from None


@app.command()
def daily(
    ctx: typer.Context,
    date_: str | None = typer.Option(
        None, "--date", help="Run date D (YYYY-MM-DD); default: the next unprocessed date"
    ),
    force: bool = typer.Option(False, "--force", help="Re-decide and overwrite a date already published"),
    replay: bool = typer.Option(False, "--replay", help="Replay on history: choose among the real recipients"),
    share: float | None = typer.Option(None, "--share", help="Replay: share of the real recipients to reach"),
    catch_up: bool = typer.Option(
        False,
        "--catch-up",
        help="As the schedule does: decide every date not yet published up to D (default: today in "
        "COUPONFLOW_TIMEZONE, or the end of the data), in order; dates decided after they began are flagged late",
    ),
    reland_: str | None = typer.Option(
        None,
        "--reland",
        help="Re-land this landed day of the drop zone (its files changed upstream) and rebuild the warehouse; "
        "a published D is still reused unless --force",
    ),
) -> None:
    """Land the days before D, build the warehouse, decide and publish D's campaign, report."""
    settings = _settings()
    run_date = _parse_date(date_, "--date")
    reland = _parse_date(reland_, "--reland")
    source = _check_dates(settings, run_date)
    _check_share(share, replay)
    if catch_up and (replay or force):
        typer.echo("--catch-up decides unpublished dates only: drop --replay/--force, or name one --date", err=True)
        raise typer.Exit(2)
    if reland is not None and (catch_up or replay):
        typer.echo("--reland applies to one --date or a backfill: drop --catch-up/--replay", err=True)
        raise typer.Exit(2)
    if replay and run_date is None:
        typer.echo("--replay needs --date: the start date of the campaign to replay", err=True)
        raise typer.Exit(2)
    _check_reland(_check_store(settings), source, reland, run_date)
    _lock_home(ctx, settings)
    from couponflow.platform.storage import open_store
    from flows.daily import daily as daily_flow

    if replay:
        _replay(settings, run_date, share, force)
        return

    try:
        out = daily_flow(run_date=run_date, force=force, catch_up=catch_up, reland=reland)
    except Exception as exc:  # noqa: BLE001 - the flow already recorded it; say it in one line
        _fail(exc)
    store = open_store(settings)
    if catch_up:
        for day, one in out["days"].items():
            late = f", LATE by {one['late']['days']} days" if one["late"] else ""
            typer.echo(f"run date {day}: {one['sends']} sends (model {one['model_version']}{late})")
        if not out["days"]:
            typer.echo("nothing to decide: every date up to the schedule's date is published")
        typer.echo(f"run record:   {_where(store, 'runs/' + out['run_id'] + '.json')}")
        return
    if out.get("relanded"):
        typer.echo(f"re-landed {out['relanded']} from the drop zone; the warehouse was rebuilt in full")
    typer.echo(
        f"run date {out['run_date']}: {out['sends']} sends (model {out['model_version']}"
        f"{', reused the published campaign' if out['reused'] else ''})"
    )
    typer.echo(f"campaign:     {_where(store, out['campaign'] + '/' + SENDS)}")
    typer.echo(f"data quality: {_where(store, out['report'] + '/index.html')}")
    typer.echo(f"run record:   {_where(store, 'runs/' + out['run_id'] + '.json')}")
    typer.echo("stages (s):   " + ", ".join(f"{k} {v:.1f}" for k, v in out["stages"].items()))


def _replay(settings, run_date: date | None, share: float | None, force: bool, end: date | None = None) -> None:
    assert run_date is not None  # daily refuses --replay without --date (exit 2) before the lock
    from couponflow.platform.storage import open_store
    from flows.replay import replay as replay_flow

    try:
        out = replay_flow(run_date=run_date, share=share, force=force, end=end)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    store = open_store(settings)
    if not out["days"]:
        typer.echo(f"replay {run_date}..{end}: no campaign starts in the range")
    for day in out["days"]:
        typer.echo(
            f"replay of {day['run_date']}: {day['sends']} sends among the real recipients "
            f"(model {day['model_version']}): {_where(store, day['campaign'] + '/' + SENDS)}"
        )
        if day["capture"] is None:
            typer.echo("  capture of real redeemers: not yet (the window has not fully landed); lift: n/a (replay)")
        else:
            typer.echo(
                "  capture of real redeemers: "
                + ", ".join(f"campaign {c}: {v:.1%}" for c, v in day["capture"].items())
                + "; lift: n/a (replay)"
            )


@app.command()
def backfill(
    ctx: typer.Context,
    start: str = typer.Option(..., "--start", help="First run date (inclusive)"),
    end: str = typer.Option(..., "--end", help="Last run date (inclusive)"),
    allocate: bool = typer.Option(True, "--allocate/--no-allocate", help="Decide each day, or only land and build"),
    force: bool = typer.Option(False, "--force", help="Re-decide dates already published"),
    replay: bool = typer.Option(False, "--replay", help="Replay on history every campaign starting in the range"),
    share: float | None = typer.Option(None, "--share", help="Replay: share of the real recipients to reach"),
    reland_: str | None = typer.Option(
        None, "--reland", help="Re-land this landed day of the drop zone first and rebuild the warehouse"
    ),
) -> None:
    """Land every missing day before END, build once, then decide each day of [START, END]
    (with --replay: land through END and replay every campaign that starts in the range)."""
    settings = _settings()
    a, b = _required_date(start, "--start"), _required_date(end, "--end")
    reland = _parse_date(reland_, "--reland")
    source = _check_dates(settings, a, b)
    _check_share(share, replay)
    if reland is not None and replay:
        typer.echo("--reland applies to a backfill, not a replay: drop --replay or --reland", err=True)
        raise typer.Exit(2)
    _check_reland(_check_store(settings), source, reland, b)
    _lock_home(ctx, settings)
    if replay:
        _replay(settings, a, share, force, end=b)
        return
    from flows.daily import backfill as backfill_flow

    try:
        out = backfill_flow(start=a, end=b, allocate=allocate, force=force, reland=reland)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    days = out.get("days", {})
    typer.echo(
        f"backfill {a}..{b}: {len(days)} days decided, "
        f"{sum(d['sends'] for d in days.values())} sends in all; store: {out['store']}"
    )
    typer.echo("stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in out["stages"].items()))


@app.command()
def train(
    ctx: typer.Context,
    family: str | None = typer.Option(None, "--family", help="logistic | mlp | wide_deep | gru (default: settings)"),
    affinity: bool = typer.Option(False, "--affinity", help="Add the affinity embeddings' features"),
) -> None:
    """Train a challenger, compare it with the champion on the recent hold-out, promote or keep."""
    settings = _settings()
    _check_store(settings)
    _lock_home(ctx, settings)
    from flows.train import train as train_flow

    try:
        out = train_flow(family=family, affinity=affinity)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    verdict = "PROMOTED" if out["promoted"] else "not promoted"
    typer.echo(f"{out['version']} {verdict}: {out['reason']}")
    typer.echo(f"champion: {out['champion']}")


@app.command()
def rollback(
    ctx: typer.Context, to: str = typer.Option(..., "--to", help="The version to make champion, e.g. v0 or v3")
) -> None:
    """Make an earlier model version champion (recorded in the registry's decision log)."""
    settings = _settings()
    store = _check_store(settings)
    _lock_home(ctx, settings)
    from models.registry import Registry, RegistryError

    registry = Registry(store)
    try:
        registry.rollback(to)
    except RegistryError as exc:
        typer.echo(f"couponflow: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"champion: {registry.champion()}")


@app.command()
def backtest(
    ctx: typer.Context,
    cut: str = typer.Option(..., "--cut", help="Cut date: train on what was known before it"),
    out: str | None = typer.Option(None, "--out", help="Write household_id, campaign_id, score here (parquet)"),
    family: str | None = typer.Option(None, "--family", help="Model family under test (default: settings)"),
    affinity: bool = typer.Option(False, "--affinity", help="Add the affinity embeddings' features"),
) -> None:
    """Train on campaigns that ended before CUT, score every recipient of later campaigns."""
    settings = _settings()
    cut_date = _required_date(cut, "--cut")
    _lock_home(ctx, settings)  # it opens the warehouse, which a DuckDB file shares with no writer of another process
    from couponflow.app.decision_inputs import load_training_examples
    from couponflow.app.history_inputs import with_history_features
    from couponflow.platform.warehouse import Warehouse
    from models.backtest import backtest as run_backtest
    from models.backtest import format_table
    from models.training import TrainConfig

    warehouse = Warehouse(settings)
    has_examples = (
        warehouse.exists
        and not warehouse.query(
            "select 1 from information_schema.tables where table_schema = 'marts' and table_name = 'training_examples'"
        ).empty
    )
    if not has_examples:
        typer.echo(
            f"couponflow: {settings.home_dir} has no training examples to backtest on: land and build the data "
            "first (couponflow daily --date 2018-01-02 lands the whole year), or set COUPONFLOW_HOME to a home "
            "that has them",
            err=True,
        )
        raise typer.Exit(2)
    try:
        config = TrainConfig(
            family=family or settings.model_family,
            seed=settings.train_seed,
            use_demographics=settings.use_demographics,
            affinity=affinity,
        )
        with warehouse.session():
            examples = with_history_features(warehouse, load_training_examples(warehouse), config)
        result = run_backtest(
            examples,
            cut_date,
            config,
            prior_strength=settings.prior_strength,
        )
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    typer.echo(format_table(result))
    if out:
        result.scores.to_parquet(out, index=False)
        typer.echo(f"scores: {out} ({len(result.scores)} rows)")


@app.command()
def serve() -> None:
    """Serve the daily and train flows with their schedules (needs a Prefect server: PREFECT_API_URL)."""
    settings = _settings()
    _check_store(settings)
    from prefect import serve as prefect_serve

    from flows.deployments import deployments, ensure_alert_automation

    # a crashed run runs no hook: the server alerts on it (removed again without an alert URL)
    ensure_alert_automation(settings)
    # schedules stay active when this process stops: a restart (or a crash) must not pause them
    prefect_serve(*deployments(settings), pause_on_shutdown=False)


@app.command()
def status(limit: int = typer.Option(10, help="How many runs to show")) -> None:
    """The last runs, their gates and outputs (read from the lake)."""
    settings = _settings()
    from couponflow.platform.runs import kept_runs, read_runs
    from couponflow.platform.schedule import published_dates

    store = _check_store(settings)
    dates = published_dates(store)
    typer.echo(f"store: {store.description}")
    typer.echo(f"published run dates: {len(dates)}" + (f" (latest {dates[-1]})" if dates else ""))
    from couponflow.platform import snapshots
    from couponflow.platform.contract import SNAPSHOT_TABLES

    versions = {t.name: snapshots.versions(store, t.name) for t in SNAPSHOT_TABLES}
    typer.echo(
        "snapshots: "
        + ", ".join(
            f"{name} v{vs[-1].version} (valid from {vs[-1].valid_from})" if vs else f"{name} not landed"
            for name, vs in versions.items()
        )
    )
    from models.registry import Registry

    registry = Registry(store)
    typer.echo(f"champion model: {registry.champion()} (versions: v0{''.join(', ' + v for v in registry.versions())})")
    for r in read_runs(store, limit):
        extra = r.get("error") or f"{r['outputs'].get('sends', '')} sends".strip()
        typer.echo(f"{r['started_at']}  {r['flow']:<8} {r['status']:<8} {r['parameters']}  {extra}")
    kept = kept_runs(settings.home_dir)
    if kept:
        typer.echo(f"{len(kept)} failed run(s) recorded in the home, the lake could not take them: {kept[-1].parent}")


@app.command()
def read(
    date_: str | None = typer.Option(None, "--date", help="Run date D (YYYY-MM-DD); default: campaigns/latest.json"),
    out_: str | None = typer.Option(None, "--out", help="Write the sends to F (.parquet: the published bytes; .csv)"),
) -> None:
    """Print (CSV) or export a day's published sends, checked against their manifest. Read-only: no lock."""
    settings = _settings()
    run_date = _parse_date(date_, "--date")
    out = Path(out_) if out_ else None
    if out is not None and out.suffix not in (".parquet", ".csv"):
        typer.echo(f"couponflow: --out {out} must end in .parquet or .csv", err=True)
        raise typer.Exit(2)
    from couponflow.app.publishing import latest_campaign, published_campaign
    from couponflow.platform import manifest

    store = _check_store(settings)
    if run_date is None:
        latest = latest_campaign(store)
        if latest is None:
            typer.echo(f"couponflow: {store.description} has no published campaign yet: run couponflow daily", err=True)
            raise typer.Exit(2)
        run_date = date.fromisoformat(latest["run_date"])
    ds = published_campaign(store, run_date)
    if ds is None:
        typer.echo(
            f"couponflow: no campaign is published for {run_date} in {store.description}: "
            f"run couponflow daily --date {run_date}, or pick a published date (couponflow status)",
            err=True,
        )
        raise typer.Exit(2)
    try:
        data = manifest.read_object(store, ds, SENDS)
    except manifest.ManifestError as exc:
        typer.echo(f"couponflow: {exc}: re-publish the date with couponflow daily --date {run_date} --force", err=True)
        raise typer.Exit(1) from None
    if out is not None and out.suffix == ".parquet":
        out.write_bytes(data)
        typer.echo(f"{run_date}: {ds.rows()} sends written to {out}")
        return
    import io

    import pyarrow.parquet as pq

    frame = pq.read_table(io.BytesIO(data)).to_pandas()
    if out is not None:
        frame.to_csv(out, index=False)
        typer.echo(f"{run_date}: {len(frame)} sends written to {out}")
    else:
        typer.echo(frame.to_csv(index=False), nl=False)


def _check_reportable(store, run_date: date) -> None:
    """A report is rebuilt from what a run of the date left (its gates, its campaign); a date no
    run has reached has nothing to rebuild."""
    from couponflow.app.publishing import published_campaign
    from couponflow.app.report.writer import load_gate_record
    from couponflow.platform.schedule import published_dates

    if load_gate_record(store, run_date) is None and published_campaign(store, run_date) is None:
        dates = published_dates(store)
        latest = f"the latest published is {dates[-1]}" if dates else "no date is published yet"
        typer.echo(
            f"couponflow: no run has reached {run_date} in {store.description}, so there is no report to rebuild "
            f"({latest}): run couponflow daily --date {run_date} first",
            err=True,
        )
        raise typer.Exit(2)


@app.command()
def report(
    ctx: typer.Context,
    date_: str = typer.Option(..., "--date", help="Run date D (YYYY-MM-DD) whose report to rebuild"),
) -> None:
    """Rebuild one day's operators' report and its Data Docs from the lake (no gate is re-run)."""
    import json

    settings = _settings()
    run_date = _required_date(date_, "--date")
    _check_reportable(_check_store(settings), run_date)
    _lock_home(ctx, settings)
    from couponflow.app import report as reports
    from couponflow.platform.resources import build_resources

    res = build_resources(settings)
    store = res.store
    try:
        ds = reports.write_report(res, run_date)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    content = json.loads(store.get(ds.key(reports.DATA)))
    typer.echo(f"run date {run_date}: {content['verdict']}")
    typer.echo(f"report:    {_where(store, ds.key(reports.INDEX))}")
    typer.echo(f"data docs: {_where(store, ds.key(reports.DOCS + '/index.html'))}")
    if content.get("data_dictionary"):
        key = posixpath.normpath(ds.key(content["data_dictionary"]))
        typer.echo(f"data dictionary: {_where(store, key)}")


@app.command()
def gc(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be deleted, with sizes; delete nothing"),
    keep_days: int = typer.Option(
        90, "--keep-days", help="Keep reports and quarantine of the N dates before the newest, run records of N days"
    ),
) -> None:
    """Delete what DESIGN's retention allows: old reports, quarantine, run records, scratch, stale caches."""
    from couponflow.app import retention

    settings = _settings()
    if keep_days < 0:
        typer.echo(
            f"--keep-days {keep_days} is negative: give the number of days to keep, e.g. --keep-days 90", err=True
        )
        raise typer.Exit(2)
    store = _check_store(settings)
    if not dry_run:  # a dry run writes nothing (read-only, like status): no lock
        _lock_home(ctx, settings)
    plan = retention.plan(store, settings, keep_days)
    if not dry_run:
        retention.collect(store, settings, plan)
    for line in retention.describe(plan, done=not dry_run):
        typer.echo(line)


@app.command()
def forget(
    ctx: typer.Context,
    household: str = typer.Option(..., "--household", help="The household_id to erase from the lake"),
) -> None:
    """Erase a household: rewrite every partition and output that holds it, record the request
    (hashed), keep it out of later landings, and rebuild the warehouse without it."""
    from couponflow.app import erasure
    from couponflow.platform.warehouse import WarehouseError, expose_lake, run_dbt

    settings = _settings()
    try:
        household_id = erasure.parse_household(household)
    except ValueError as exc:
        typer.echo(f"couponflow: {exc}", err=True)
        raise typer.Exit(2) from None
    store = _check_store(settings)
    _lock_home(ctx, settings)
    had_warehouse = settings.warehouse_path.exists()
    try:
        done = erasure.forget(store, settings, household_id)
    except erasure.UnknownHousehold as exc:
        typer.echo(f"couponflow: {exc}", err=True)
        raise typer.Exit(2) from None
    for line in erasure.describe(done, household_id):
        typer.echo(line)
    if had_warehouse and not settings.warehouse_path.exists():
        try:
            expose_lake(settings, store)
            run_dbt(settings, "build", "--exclude-resource-type", "unit_test")
        except WarehouseError as exc:
            typer.echo(
                f"couponflow: the lake is erased, but the warehouse could not be rebuilt ({exc}); the next run "
                "builds it",
                err=True,
            )
            raise typer.Exit(1) from None
        typer.echo(f"warehouse rebuilt in full from the erased lake: {settings.warehouse_path}")


dropzone_app = typer.Typer(no_args_is_help=True, help="The drop zone: files an upstream system drops for couponflow.")
app.add_typer(dropzone_app, name="dropzone")


@dropzone_app.command("example")
def dropzone_example(
    to_: str = typer.Option(..., "--to", help="An empty or new folder to write the example drop zone into"),
    days: int = typer.Option(14, "--days", help="How many days of the bundled year, ending on a campaign start"),
) -> None:
    """Write some days of the bundled data in the drop-zone layout (with markers and the snapshots)."""
    from couponflow.platform.sources.dropzone import EXAMPLE_CAMPAIGN_START, example_days, write_example

    to = Path(to_)
    most = (EXAMPLE_CAMPAIGN_START - date(2017, 1, 1)).days + 1
    if not 1 <= days <= most:
        typer.echo(f"--days {days} is outside 1..{most}: the example ends on {EXAMPLE_CAMPAIGN_START}", err=True)
        raise typer.Exit(2)
    if to.exists() and (not to.is_dir() or any(to.iterdir())):
        typer.echo(
            f"couponflow: {to} exists and is not an empty folder: pick a new one (nothing was written)", err=True
        )
        raise typer.Exit(2)
    written = write_example(to, days)
    assert written == example_days(days)
    zone = to.resolve()
    typer.echo(
        f"wrote {len(written)} days ({written[0]} .. {written[-1]}; campaign 18 starts {EXAMPLE_CAMPAIGN_START}) "
        f"and the 4 snapshots to {zone}"
    )
    typer.echo(
        f"run: COUPONFLOW_SOURCE=dropzone COUPONFLOW_DROPZONE_URL={shlex.quote(str(zone))} "
        f"couponflow daily --date {EXAMPLE_CAMPAIGN_START}"
    )


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)


if __name__ == "__main__":
    main()
