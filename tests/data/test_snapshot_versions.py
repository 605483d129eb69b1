"""Snapshot versions through the real landing path on a local drop zone, then a real dbt build.

The upstream drops a new products catalogue after two days of the example have landed: it lands
as ``raw/products/snapshot/version=2/``, valid from the first day landed after it was seen, and
version 1 stays as it was. The marts then read, for each day and as-of date, the version current
then: a product whose department changed counts in its old department on the lines before the
change and in the new one from it (household features), and a campaign's coupon products carry
the department of the version current as of its start. Then, before the campaign's start day
lands, a new demographics snapshot changes some households: valid from that start, it is not the
version current as of the start (its day before), so the campaign's offer features keep the old
demographics while the households dimension shows the new ones. A re-run changes no byte; a
snapshot re-exported with the same rows is no new version.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from couponflow.app.ingest import land_through
from couponflow.platform import manifest, snapshots
from couponflow.platform.config import load_settings
from couponflow.platform.contract import SNAPSHOT_TABLES
from couponflow.platform.lake import PART, snapshot_prefix
from couponflow.platform.sources.dropzone import DropZoneSource, example_days, write_example, write_folder
from couponflow.platform.storage import LocalStore
from couponflow.platform.warehouse import expose_lake, run_dbt

DAYS = example_days(5)  # 2017-10-26 .. 2017-10-30 (campaign 18 starts on the last)
CHANGE = DAYS[2]  # the first day landed after the new catalogue is dropped
P = 844165  # GROCERY, bought by household 98 on 2017-10-27 and 2017-10-29
H = 98
NEW_DEPARTMENT = "PRODUCE"
NEW_INCOME = "v2-income"  # demographics version 2's income of the households it changes


def _source(zone: Path) -> DropZoneSource:
    return DropZoneSource(LocalStore(zone))  # a fresh listing: the zone as it is now


def _raw(store: LocalStore) -> dict[str, bytes]:
    return {k: store.get(k) for k in store.list("raw/")}


def _coupon_product(zone: Path) -> int:
    """A coupon product of campaign 18 (start 2017-10-30) and of campaign 17 (start 2017-10-18)."""
    coupons = pq.read_table(zone / "coupons/snapshot/part-0.parquet")
    of = {c: set(coupons.filter(pc.equal(coupons["campaign_id"], c))["product_id"].to_pylist()) for c in (17, 18)}
    return min(of[17] & of[18])


def _new_catalogue(zone: Path, products: list[int]) -> pa.Table:
    """The upstream's new catalogue: ``products`` move to NEW_DEPARTMENT, under a new file name."""
    old = pq.read_table(zone / "products/snapshot/part-0.parquet")
    moved = pc.is_in(old["product_id"], pa.array(products, old["product_id"].type))
    new = old.set_column(
        old.schema.get_field_index("department"),
        "department",
        pc.if_else(moved, pa.scalar(NEW_DEPARTMENT), old["department"]),
    )
    shutil.rmtree(zone / "products/snapshot")
    write_folder(zone, "products", None, {"part-0-v2.parquet": manifest.parquet_bytes(new)})
    return new


def _changed_households(zone: Path) -> list[int]:
    """Five households with demographics and a purchase on a landed day before the start (so in
    the campaign's offer features as of its start)."""
    demographics = pq.read_table(zone / "demographics/snapshot/part-0.parquet")["household_id"].to_pylist()
    buyers = set()
    for d in DAYS[:-1]:
        for f in (zone / f"transactions/date={d}").glob("*.parquet"):
            buyers |= set(pq.read_table(f)["household_id"].to_pylist())
    return sorted(buyers & set(demographics))[:5]


def _new_demographics(zone: Path, households: list[int]) -> pa.Table:
    """The upstream's new demographics: ``households`` get NEW_INCOME, under a new file name."""
    old = pq.read_table(zone / "demographics/snapshot/part-0.parquet")
    moved = pc.is_in(old["household_id"], pa.array(households, old["household_id"].type))
    new = old.set_column(
        old.schema.get_field_index("income"), "income", pc.if_else(moved, pa.scalar(NEW_INCOME), old["income"])
    )
    shutil.rmtree(zone / "demographics/snapshot")
    write_folder(zone, "demographics", None, {"part-0-v2.parquet": manifest.parquet_bytes(new)})
    return new


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    base = tmp_path_factory.mktemp("snapshot_versions")
    zone = base / "drop"
    write_example(zone, len(DAYS))
    settings = load_settings(home=base / "home")
    store = LocalStore(settings.lake_dir)

    land_through(store, _source(zone), DAYS[1])
    first = _raw(store)
    q = _coupon_product(zone)
    old = pq.read_table(zone / "products/snapshot/part-0.parquet")
    new = _new_catalogue(zone, [P, q])
    report = land_through(store, _source(zone), DAYS[-2])
    # demographics version 2, seen before the campaign's start day lands: valid from that day
    changed = _changed_households(zone)
    old_demographics = pq.read_table(zone / "demographics/snapshot/part-0.parquet")
    _new_demographics(zone, changed)
    demographics_report = land_through(store, _source(zone), DAYS[-1])
    expose_lake(settings, store)
    # the models that read a snapshot and their tests (the scoring marts are not needed here)
    models = "+household_features +coupons +campaign_categories +campaigns +households +offer_features"
    result = run_dbt(
        settings,
        "build",
        "--exclude-resource-type",
        "unit_test",
        "--select",
        models,
        "--indirect-selection",
        "cautious",
    )
    # the unit test of a line's version (int_household_days.yml), on this warehouse's column types
    unit = run_dbt(settings, "test", "--select", "int_household_days,test_type:unit offer_features,test_type:unit")
    assert unit.nodes and all(status == "pass" for _, status in unit.nodes), unit.nodes
    assert not [n for n, status in result.nodes if status not in ("success", "pass")], result.nodes
    con = duckdb.connect(str(settings.warehouse_path))
    yield {
        "home": base / "home",
        "zone": zone,
        "store": store,
        "first": first,
        "report": report,
        "demographics_report": demographics_report,
        "changed": changed,
        "old_demographics": old_demographics,
        "con": con,
        "q": q,
        "old": old,
        "new": new,
    }
    con.close()


def test_a_changed_snapshot_lands_as_a_new_version_and_the_old_one_stays(lake):
    store, first = lake["store"], lake["first"]
    assert lake["report"].landed_snapshots == ["products"] and lake["report"].landed_days == DAYS[2:-1]
    assert lake["demographics_report"].landed_snapshots == ["demographics"]
    assert lake["demographics_report"].landed_days == DAYS[-1:]
    versions = snapshots.versions(store, "products")
    assert [(v.version, v.valid_from) for v in versions] == [(1, DAYS[0]), (2, CHANGE)]
    assert versions[1].dataset.manifest["drop_files"].keys() == {"part-0-v2.parquet"}
    assert manifest.read_object(store, versions[1].dataset, PART) == manifest.parquet_bytes(lake["new"])
    # version 1 and everything landed before are untouched, byte for byte
    assert {k: v for k, v in _raw(store).items() if k in first} == first
    # the other snapshots did not change: version 1 only
    for spec in SNAPSHOT_TABLES:
        if spec.name not in ("products", "demographics"):
            assert [v.version for v in snapshots.versions(store, spec.name)] == [1], spec.name
    # the version current on a day
    assert snapshots.current(store, "products", DAYS[1]).version == 1
    assert snapshots.current(store, "products", CHANGE).version == 2
    assert snapshots.current(store, "products").version == 2
    demographics = snapshots.versions(store, "demographics")
    assert [(v.version, v.valid_from) for v in demographics] == [(1, DAYS[0]), (2, DAYS[-1])]


def test_a_rerun_changes_no_byte_and_the_same_rows_are_no_new_version(lake, tmp_path):
    store, zone = lake["store"], lake["zone"]
    before = _raw(store)
    assert land_through(store, _source(zone), DAYS[-1]).landed_snapshots == []
    assert _raw(store) == before
    # the same rows re-exported under another name: new drop files, same landed bytes
    copy = tmp_path / "drop"
    shutil.copytree(zone, copy)
    shutil.rmtree(copy / "products/snapshot")
    write_folder(copy, "products", None, {"renamed.parquet": manifest.parquet_bytes(lake["new"])})
    assert land_through(store, _source(copy), DAYS[-1]).landed_snapshots == []
    assert _raw(store) == before and not store.exists(f"{snapshot_prefix('products', 3)}/{manifest.MANIFEST}")


def test_a_killed_landing_then_a_rerun_gives_the_same_bytes(lake, tmp_path):
    """Killed after the new version's objects were written but before its manifest (and before any
    day of it landed): a version without a manifest is no version, the re-run lands it again with
    the same number and valid_from, and the lake is byte-identical to the undisturbed run's (whose
    demographics version 2 came later: the re-run lands it the same way, from a zone without it
    first)."""
    killed = LocalStore(tmp_path / "killed")
    shutil.copytree(lake["store"].root, killed.root)
    for key in killed.list("raw/"):
        if (
            any(f"date={d}/" in key for d in DAYS[2:])
            or key == f"{snapshot_prefix('products', 2)}/{manifest.MANIFEST}"
            or key.startswith(f"{snapshot_prefix('demographics', 2)}/")
        ):
            killed.delete(key)
    killed.put(f"{snapshot_prefix('products', 3)}/{PART}", b"half-written")  # a leftover no manifest lists
    assert [v.version for v in snapshots.versions(killed, "products")] == [1]
    before = tmp_path / "drop-before-demographics"
    shutil.copytree(lake["zone"], before)
    shutil.rmtree(before / "demographics/snapshot")
    write_folder(before, "demographics", None, {"part-0.parquet": manifest.parquet_bytes(lake["old_demographics"])})
    land_through(killed, _source(before), DAYS[-2])
    land_through(killed, _source(lake["zone"]), DAYS[-1])
    assert {k: killed.get(k) for k in killed.list("raw/") if "version=3" not in k} == _raw(lake["store"])
    assert [v.version for v in snapshots.versions(killed, "products")] == [1, 2]


def _departments(con: duckdb.DuckDBPyConnection, product_id: int) -> pd.DataFrame:
    return con.execute(
        "select snapshot_version, valid_from, valid_to, department from marts.products where product_id = ? "
        "order by snapshot_version",
        [product_id],
    ).df()


def test_the_marts_hold_both_versions_with_their_windows(lake):
    got = _departments(lake["con"], P)
    assert got["snapshot_version"].tolist() == [1, 2]
    assert got["valid_from"].dt.date.tolist() == [DAYS[0], CHANGE]
    assert got["valid_to"].dt.date.tolist()[0] == CHANGE and pd.isna(got["valid_to"].iloc[1])
    assert got["department"].tolist() == ["GROCERY", NEW_DEPARTMENT]


def test_a_lines_department_is_the_version_of_its_day(lake):
    """Household 98's days: P counts as GROCERY on 2017-10-27 and as PRODUCE on 2017-10-29, and
    every other line in its department; recomputed here from the lines and the two catalogues."""
    con = lake["con"]
    lines = con.execute(
        "select transaction_date, product_id, sales_value from staging.stg_transactions where household_id = ?", [H]
    ).df()
    assert {d.date() for d in lines.loc[lines["product_id"] == P, "transaction_date"]} == {DAYS[1], DAYS[3]}
    catalogue = {
        v: t.to_pandas().set_index("product_id")["department"] for v, t in ((1, lake["old"]), (2, lake["new"]))
    }
    lines["department"] = [
        catalogue[2 if d.date() >= CHANGE else 1].get(p) for d, p in zip(lines["transaction_date"], lines["product_id"])
    ]
    want = (
        lines.assign(grocery=lines["sales_value"].where(lines["department"] == "GROCERY", 0))
        .assign(produce=lines["sales_value"].where(lines["department"] == NEW_DEPARTMENT, 0))
        .groupby(lines["transaction_date"].dt.date)[["grocery", "produce"]]
        .sum()
    )
    got = con.execute(
        "select transaction_date, spend_grocery, spend_produce from intermediate.int_household_days "
        "where household_id = ? order by 1",
        [H],
    ).df()
    got.index = got["transaction_date"].dt.date
    assert got.index.tolist() == want.index.tolist()
    for d in got.index:
        assert float(got.loc[d, "spend_grocery"]) == pytest.approx(want.loc[d, "grocery"]), d
        assert float(got.loc[d, "spend_produce"]) == pytest.approx(want.loc[d, "produce"]), d
    # the features as of 2017-10-30 see P's earlier line as grocery, its later one as produce
    feats = con.execute(
        "select dept_share_grocery, dept_share_produce from marts.household_features "
        "where household_id = ? and as_of_date = ?",
        [H, DAYS[-1]],
    ).df()
    days = want.loc[[d for d in want.index if d < DAYS[-1]]]
    total = float(lines.loc[lines["transaction_date"].dt.date < DAYS[-1], "sales_value"].sum())
    assert float(feats["dept_share_grocery"][0]) == pytest.approx(days["grocery"].sum() / total)
    assert float(feats["dept_share_produce"][0]) == pytest.approx(days["produce"].sum() / total)


def test_a_campaign_reads_the_version_current_as_of_its_start(lake):
    """Q is a coupon product of campaign 17 (start 2017-10-18: version 1, GROCERY or whatever it
    was) and of campaign 18 (start 2017-10-30: version 2, PRODUCE)."""
    q, con = lake["q"], lake["con"]
    old = lake["old"].to_pandas().set_index("product_id")["department"][q]
    assert old != NEW_DEPARTMENT
    got = con.execute(
        "select campaign_id, any_value(department) as department from marts.coupons "
        "where product_id = ? and campaign_id in (17, 18) group by 1 order by 1",
        [q],
    ).df()
    assert got["department"].tolist() == [old, NEW_DEPARTMENT]
    # one version per campaign: the coupons mart holds no row twice
    n = con.execute("select count(*) - count(distinct (campaign_id, coupon_upc, product_id)) from marts.coupons")
    assert n.fetchone()[0] == 0
    assert con.execute("select count(*) from marts.campaign_categories where campaign_id = 18").fetchone()[0] > 0


def test_offer_features_read_the_demographics_version_current_as_of_the_start(lake):
    """Demographics version 2 is valid from campaign 18's start S: the version current as of S (on
    S - 1) is version 1, so its offer features carry every household's old demographics, while the
    households dimension (descriptive, the latest version) carries the new income."""
    con, changed = lake["con"], lake["changed"]
    old = lake["old_demographics"].to_pandas().set_index("household_id")
    assert len(changed) == 5 and not (old.loc[changed, "income"] == NEW_INCOME).any()
    latest = con.execute(
        "select household_id, income from marts.households where household_id in (select unnest(?))", [changed]
    ).df()
    assert latest["income"].tolist() == [NEW_INCOME] * len(changed)
    offers = con.execute(
        "select household_id, has_demographics, income, age from marts.offer_features "
        "where campaign_id = 18 and as_of_date = ?",
        [DAYS[-1]],
    ).df()
    assert set(changed) <= set(offers["household_id"])
    for row in offers.itertuples():
        if row.household_id in old.index:
            assert row.has_demographics and row.income == old.loc[row.household_id, "income"], row
            assert row.age == old.loc[row.household_id, "age"], row
        else:
            assert not row.has_demographics and pd.isna(row.income), row


def test_status_names_the_current_version_of_each_snapshot(lake):
    from typer.testing import CliRunner

    from flows.cli import app

    res = CliRunner().invoke(app, ["status"], env={"COUPONFLOW_HOME": str(lake["home"]), "COUPONFLOW_SOURCE": None})
    assert res.exit_code == 0, res.output
    assert f"products v2 (valid from {CHANGE})" in res.output and f"coupons v1 (valid from {DAYS[0]})" in res.output
