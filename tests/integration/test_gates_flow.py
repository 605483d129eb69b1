"""Bad inputs through whole daily runs (real Prefect, dbt, GX): each gate stops the run before
anything downstream is written, quarantines the offending data with the validation result, says
in one line what failed and how to fix it; soft checks warn in the report; a later good run of
the same date succeeds."""

from __future__ import annotations

import json
from datetime import date, datetime

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from couponflow.platform import manifest
from couponflow.platform import resources as platform_resources
from couponflow.platform.gate_results import GateFailed
from couponflow.platform.landing import landed_days
from couponflow.platform.schedule import published_dates
from couponflow.platform.storage import open_store
from tests.helpers import TransformedSource, replace_column

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _report(store, day: date) -> dict:
    ds = manifest.read(store, f"reports/date={day.isoformat()}")
    return json.loads(manifest.read_object(store, ds, "report.json"))


def _nothing_published(store) -> None:
    assert store.list("campaigns/") == [] and store.list("decisions/") == []


def _runs(store) -> list[dict]:
    return sorted((json.loads(store.get(k)) for k in store.list("runs/")), key=lambda r: r["started_at"])


def test_raw_gate_in_a_daily_run_a_10x_day_stops_it_an_empty_day_warns(local_home, monkeypatch, source):
    from flows import cli

    empty, tenfold = date(2017, 1, 10), date(2017, 1, 15)

    def upstream(table, d, rows):
        if table == "transactions" and d == empty:
            return rows.slice(0, 0)  # the stores closed for the day
        if table == "transactions" and d == tenfold:  # a replayed export: ten copies, fresh basket ids
            return pa.concat_tables(
                [replace_column(rows, "basket_id", pc.add(rows["basket_id"], 10**12 * k)) for k in range(10)]
            )
        return rows

    store = open_store(local_home)
    monkeypatch.setattr(platform_resources, "get_source", lambda settings: TransformedSource(source, upstream))
    res = CliRunner().invoke(cli.app, ["daily", "--date", "2017-01-17"])
    assert res.exit_code == 1
    assert len(res.output.strip().splitlines()) == 1, res.output
    (line,) = res.output.strip().splitlines()
    assert "raw gate FAILED on transactions.volume_ratio date=2017-01-15" in line
    assert "replayed export" in line and "Fix:" in line
    _nothing_published(store)
    assert landed_days(store)[-1] == date(2017, 1, 14)  # the days before the bad one stay landed
    prefix = "quarantine/raw/date=2017-01-15/transactions"
    assert store.list(prefix + "/") == [f"{prefix}/part-0.parquet", f"{prefix}/validation.json"]
    report = _report(store, date(2017, 1, 17))
    assert report["verdict"].startswith("STOPPED") and report["failure"] == line.removeprefix("couponflow: ")
    landed = {(p["table"], p["column"], p["status"]): p for p in report["gates"]["landed"]}
    assert landed[("transactions", "volume_ratio", "fail")]["partitions"] == ["2017-01-15"]
    assert landed[("transactions", "rows", "warn")]["partitions"] == ["2017-01-10"]  # soft: the run went on
    assert "2017-12-25" in landed[("transactions", "rows", "warn")]["reason"]

    monkeypatch.setattr(
        platform_resources,
        "get_source",
        lambda settings: TransformedSource(source, lambda t, d, rows: upstream(t, d, rows) if d == empty else rows),
    )  # the export is fixed
    res = CliRunner().invoke(cli.app, ["daily", "--date", "2017-01-17"])
    assert res.exit_code == 0, res.output
    assert published_dates(store) == [date(2017, 1, 17)] and landed_days(store)[-1] == date(2017, 1, 16)
    assert _report(store, date(2017, 1, 17))["failure"] is None
    assert [r["status"] for r in _runs(store)] == ["failed", "success"]


def test_a_replayed_redemption_feed_stops_the_run_at_the_marts_gate(local_home, monkeypatch, source):
    from flows.daily import daily

    day, run_date = date(2017, 2, 9), date(2017, 2, 10)  # campaign 27 started on 2017-02-08
    recipients = source.day("campaigns", date(2017, 2, 8))["household_id"]
    coupons = source.snapshot("coupons")
    coupon = coupons.filter(pc.equal(coupons["campaign_id"], 27))["coupon_upc"][0].as_py()

    def replayed(table, d, rows):
        if table != "coupon_redemptions" or d != day:
            return rows
        n = len(recipients)
        extra = pa.table(
            {
                "household_id": recipients,
                "coupon_upc": pa.array([coupon] * n, pa.int64()),
                "campaign_id": pa.array([27] * n, pa.int64()),
                "redemption_date": pa.array([datetime(2017, 2, 9)] * n, pa.timestamp("us")),
            }
        )
        return (
            pa.concat_tables([rows, extra])
            .group_by(rows.column_names)
            .aggregate([])
            .sort_by([(k, "ascending") for k in rows.column_names])
        )

    store = open_store(local_home)
    monkeypatch.setattr(platform_resources, "get_source", lambda settings: TransformedSource(source, replayed))
    with pytest.raises(GateFailed, match=r"marts gate FAILED on training_examples\.label_rate date=2017-02-10") as exc:
        daily(run_date=run_date)
    assert "replayed rows" in str(exc.value)
    _nothing_published(store)
    prefix = "quarantine/marts/date=2017-02-10/training_examples"
    assert store.list(prefix + "/") == [f"{prefix}/training_examples.parquet", f"{prefix}/validation.json"]
    rates = pd.read_parquet(store.local_path(f"{prefix}/training_examples.parquet")).set_index("campaign_id")
    assert rates.loc[27, "label_rate"] == 1.0
    report = _report(store, run_date)
    assert report["gates"]["summary"] == {"raw": "warn", "marts": "fail", "campaign": "not run"}
    record = _runs(store)[-1]
    assert (
        record["status"] == "failed"
        and {"gate": "marts", "table": "training_examples", "partitions": 1, "failed": 1, "warnings": 0}
        in record["gates"]
    )

    # the fix the message names: drop the replayed day's partition, land it again from the fixed feed
    store.delete(f"raw/coupon_redemptions/date={day.isoformat()}/manifest.json")
    monkeypatch.setattr(platform_resources, "get_source", lambda settings: source)
    assert daily(run_date=run_date)["run_date"] == "2017-02-10"
    assert published_dates(store) == [run_date] and _report(store, run_date)["gates"]["summary"]["marts"] == "pass"


def test_a_bad_decision_stops_the_run_before_publishing(local_home, monkeypatch):
    from flows import tasks
    from flows.daily import daily

    run_date = date(2017, 2, 8)  # campaign 27 starts
    real_decide = tasks.decide

    def buggy(settings, day, candidates, *args, **kwargs):
        """An allocation bug: one control-group household is sent as well."""
        d = real_decide(settings, day, candidates, *args, **kwargs)
        i = d.decisions.index[d.decisions["status"] == "control"][0]
        d.sends = pd.concat(
            [d.sends, d.decisions.loc[[i], list(d.sends.columns)].assign(propensity=1.0)], ignore_index=True
        )
        return d

    store = open_store(local_home)
    monkeypatch.setattr(tasks, "decide", buggy)
    with pytest.raises(GateFailed, match=r"campaign gate FAILED on sends\.in_control_group date=2017-02-08"):
        daily(run_date=run_date)
    _nothing_published(store)
    prefix = "quarantine/campaign/date=2017-02-08/sends"
    assert store.list(prefix + "/") == [f"{prefix}/sends.parquet", f"{prefix}/validation.json"]
    report = _report(store, run_date)
    assert report["gates"]["summary"] == {"raw": "warn", "marts": "pass", "campaign": "fail"}
    assert report["verdict"].startswith("STOPPED")

    monkeypatch.setattr(tasks, "decide", real_decide)  # the bug is fixed
    out = daily(run_date=run_date)
    assert out["sends"] > 0 and published_dates(store) == [run_date]
    assert _report(store, run_date)["verdict"].startswith("safe to send")
    assert store.exists("reports/date=2017-02-08/data-docs/index.html")
