"""The drop zone through the real landing path (the raw gate included), on a local directory and
on SeaweedFS: complete days land the bytes the bundled source lands, an incomplete day waits and
names what it waits for, a changed file is refused by name and ``reland_day`` takes it, bad
files are one line naming the file and the fix, and the drop zone's own gate bands."""

from __future__ import annotations

import io
import json
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from couponflow.app.ingest import land_through
from couponflow.platform import manifest
from couponflow.platform.config import SettingsError, load_settings
from couponflow.platform.contract import DAILY_TABLES, RAW_TABLES, SNAPSHOT_TABLES
from couponflow.platform.gate_results import GateFailed
from couponflow.platform.lake import PART, raw_prefix, snapshot_prefix
from couponflow.platform.landing import RawContext, RelandError, check_reland, landed_days, reland_day
from couponflow.platform.sources import get_source
from couponflow.platform.sources.base import BadDropFile, DropFileChanged, UpstreamNotReady
from couponflow.platform.sources.dropzone import DropZoneSource, example_days, write_example
from couponflow.platform.storage import LocalStore, StoreMisconfigured
from expectations.raw_gate import check_partitions
from tests.seaweed import ACCESS_KEY, SECRET_KEY

DAYS = example_days(5)  # 2017-10-26 .. 2017-10-30 (campaign 18 starts on the last)


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("example") / "drop"
    assert write_example(root, len(DAYS)) == DAYS
    return root


@pytest.fixture(scope="module")
def bundled():
    from couponflow.platform.sources.completejourney import CompleteJourneySource

    return CompleteJourneySource()


class Zone:
    """A copy of the example drop zone on one backend, edited through a local mirror."""

    def __init__(self, local: Path, settings, client=None, bucket=None):
        self.local, self.settings, self.client, self.bucket = local, settings, client, bucket

    def source(self) -> DropZoneSource:
        source = get_source(self.settings)
        assert isinstance(source, DropZoneSource)
        return source

    def sync(self) -> None:
        """Make the backend hold exactly the local mirror (S3: upload and delete)."""
        if self.client is None:
            return
        have = {o["Key"] for o in self.client.list_objects_v2(Bucket=self.bucket, Prefix="drop/").get("Contents", [])}
        want = {f"drop/{p.relative_to(self.local).as_posix()}": p for p in self.local.rglob("*") if p.is_file()}
        for key, path in want.items():
            self.client.put_object(Bucket=self.bucket, Key=key, Body=path.read_bytes())
        for key in have - set(want):
            self.client.delete_object(Bucket=self.bucket, Key=key)


def open_zone(backend: str, copy_of: Path, local: Path, request, monkeypatch) -> Zone:
    """A copy of the drop zone ``copy_of`` at ``local``, served as the settings' drop zone on
    ``backend``: the local directory itself, or its mirror in a SeaweedFS bucket."""
    shutil.copytree(copy_of, local)
    monkeypatch.setenv("COUPONFLOW_SOURCE", "dropzone")
    if backend == "local":
        monkeypatch.setenv("COUPONFLOW_DROPZONE_URL", str(local))
        return Zone(local, load_settings())
    seaweed = request.getfixturevalue("seaweed")
    bucket = request.getfixturevalue("s3_bucket")
    for var, value in {
        "COUPONFLOW_DROPZONE_URL": f"s3://{bucket}/drop",
        "COUPONFLOW_DROPZONE_ENDPOINT_URL": seaweed["endpoint"],
        "COUPONFLOW_DROPZONE_ACCESS_KEY_ID": ACCESS_KEY,
        "COUPONFLOW_DROPZONE_SECRET_ACCESS_KEY": SECRET_KEY,
    }.items():
        monkeypatch.setenv(var, value)
    z = Zone(local, load_settings(), seaweed["client"], bucket)
    z.sync()
    return z


@pytest.fixture(params=["local", "s3"])
def zone(request, example, tmp_path, monkeypatch) -> Zone:
    return open_zone(request.param, example, tmp_path / "drop", request, monkeypatch)


def _landed(store, table: str, d: date | None, version: int = 1) -> bytes:
    ds = manifest.read(store, raw_prefix(table, d) if d else snapshot_prefix(table, version))
    assert ds is not None, (table, d)
    return manifest.read_object(store, ds, PART)


def _raw_keys(store, d: date) -> list[str]:
    return [k for k in store.list("raw/") if f"date={d.isoformat()}/" in k]


def test_a_complete_drop_lands_what_the_bundled_source_lands(zone, bundled, tmp_path):
    store = LocalStore(tmp_path / "lake")
    source = zone.source()
    assert (source.first_day, source.last_day, source.days()) == (DAYS[0], DAYS[-1], DAYS)
    assert source.answers_our_sends is False  # DESIGN: false unless the setting declares it
    report = land_through(store, source, DAYS[-1])
    assert landed_days(store) == DAYS and all(r.success for r in report.gate_results)
    # parquet and CSV (redemptions, recipients) land the bytes of the bundled source: typed by the contract
    for spec in DAILY_TABLES:
        for d in DAYS[1:]:
            assert _landed(store, spec.name, d) == manifest.parquet_bytes(bundled.day(spec.name, d)), (spec.name, d)
    for spec in SNAPSHOT_TABLES:
        assert _landed(store, spec.name, None) == manifest.parquet_bytes(bundled.snapshot(spec.name)), spec.name
    # the first day holds the recipients of every campaign that started before it too
    first = pq.read_table(io.BytesIO(_landed(store, "campaigns", DAYS[0])))
    assert set(first["campaign_id"].to_pylist()) == set(range(1, 18)) | {24, 25, 26, 27}
    # what was read is recorded by content, beside the data
    ds = manifest.read(store, raw_prefix("coupon_redemptions", DAYS[1]))
    csv = (zone.local / f"coupon_redemptions/date={DAYS[1]}/part-0.csv").read_bytes()
    assert ds.manifest["source"] == "dropzone" and ds.manifest["drop_files"] == {"part-0.csv": manifest.sha256(csv)}
    # a second run lands nothing and changes no byte
    before = {k: store.get(k) for k in store.list("raw/")}
    assert land_through(store, zone.source(), DAYS[-1]).landed_days == []
    assert {k: store.get(k) for k in store.list("raw/")} == before


def test_an_incomplete_day_waits_names_the_day_and_table_and_lands_once_marked(zone, tmp_path):
    store = LocalStore(tmp_path / "lake")
    waiting = DAYS[2]
    (zone.local / f"campaigns/date={waiting}/_SUCCESS").unlink()
    (zone.local / f"transactions/date={DAYS[3]}/_SUCCESS").unlink()
    zone.sync()
    with pytest.raises(UpstreamNotReady) as exc:
        land_through(store, zone.source(), DAYS[-1])
    line = str(exc.value)
    assert f"day {waiting} is incomplete, waiting for campaigns/date={waiting}/_SUCCESS" in line
    assert "1 later day(s)" in line and "2 complete day(s) before it landed" in line and "\n" not in line
    assert landed_days(store) == DAYS[:2]
    assert [k for d in DAYS[2:] for k in _raw_keys(store, d)] == []  # nothing of the waiting days, not half
    for d in DAYS[2:4]:
        for spec in DAILY_TABLES:
            (zone.local / f"{spec.name}/date={d}/_SUCCESS").write_bytes(b"")
    zone.sync()
    assert land_through(store, zone.source(), DAYS[-1]).landed_days == DAYS[2:]


def test_a_missing_snapshot_waits_with_nothing_landed(zone, tmp_path):
    store = LocalStore(tmp_path / "lake")
    shutil.rmtree(zone.local / "products")
    zone.sync()
    with pytest.raises(UpstreamNotReady, match="no complete products for its snapshot: waiting for products/snapshot"):
        land_through(store, zone.source(), DAYS[-1])
    assert store.list("raw/") == []


def _rewrite_without_first_row(path: Path) -> None:
    table = pq.read_table(path)
    pq.write_table(table.slice(1), path)


def test_a_changed_file_is_refused_by_name_and_reland_takes_it(zone, tmp_path):
    store = LocalStore(tmp_path / "lake")
    land_through(store, zone.source(), DAYS[-1])
    day = DAYS[1]
    landed = {k: store.get(k) for k in store.list("raw/")}
    _rewrite_without_first_row(zone.local / f"transactions/date={day}/part-0.parquet")
    zone.sync()
    with pytest.raises(DropFileChanged) as exc:
        land_through(store, zone.source(), DAYS[-1])
    line = str(exc.value)
    assert f"drop zone file transactions/date={day}/part-0.parquet changed" in line
    assert f"couponflow daily --reland {day}" in line and "\n" not in line
    assert {k: store.get(k) for k in store.list("raw/")} == landed  # the lake keeps what it landed

    rows_before = manifest.read(store, raw_prefix("transactions", day)).rows()
    report = reland_day(store, zone.source(), day, check_partitions)
    assert report.landed_days == [day] and all(r.success for r in report.gate_results)
    ds = manifest.read(store, raw_prefix("transactions", day))
    new = (zone.local / f"transactions/date={day}/part-0.parquet").read_bytes()
    assert ds.rows() == rows_before - 1 and ds.manifest["drop_files"] == {"part-0.parquet": manifest.sha256(new)}
    # only the relanded day's transactions moved; the next run accepts the drop as it is now
    changed = {k for k in store.list("raw/") if store.get(k) != landed.get(k)}
    assert changed == {f"raw/transactions/date={day}/{n}" for n in (PART, "validation.json", "manifest.json")}
    assert land_through(store, zone.source(), DAYS[-1]).landed_days == []
    # re-landing the same files again gives the same bytes (same-bytes rule)
    again = {k: store.get(k) for k in store.list("raw/")}
    reland_day(store, zone.source(), day, check_partitions)
    assert {k: store.get(k) for k in store.list("raw/")} == again


def test_a_file_added_or_removed_after_landing_is_named(zone, tmp_path):
    store = LocalStore(tmp_path / "lake")
    land_through(store, zone.source(), DAYS[-1])
    extra = zone.local / f"coupon_redemptions/date={DAYS[0]}/part-1.csv"
    extra.write_bytes((zone.local / f"coupon_redemptions/date={DAYS[1]}/part-0.csv").read_bytes())
    zone.sync()
    with pytest.raises(DropFileChanged, match=f"coupon_redemptions/date={DAYS[0]}/part-1.csv appeared after"):
        land_through(store, zone.source(), DAYS[-1])
    extra.unlink()
    (zone.local / f"transactions/date={DAYS[2]}/part-0.parquet").unlink()
    zone.sync()
    with pytest.raises(DropFileChanged, match=f"transactions/date={DAYS[2]}/part-0.parquet was removed after"):
        land_through(store, zone.source(), DAYS[-1])
    # a day folder the upstream purged is no change: the lake keeps it
    shutil.rmtree(zone.local / f"transactions/date={DAYS[2]}")
    zone.sync()
    land_through(store, zone.source(), DAYS[-1])


def test_reland_is_refused_for_a_day_not_landed_and_for_another_source(zone, tmp_path, source):
    store = LocalStore(tmp_path / "lake")
    with pytest.raises(RelandError, match=f"--reland {DAYS[0]}: that day is not landed"):
        check_reland(store, zone.source(), DAYS[0])
    with pytest.raises(RelandError, match="the source is completejourney: set COUPONFLOW_SOURCE=dropzone"):
        check_reland(store, source, DAYS[0])


# -- bad files: one line naming the file, the problem and the fix; nothing of the day lands --------


def _csv(text: str) -> bytes:
    return text.encode()


HEADER = "household_id,coupon_upc,campaign_id,redemption_date\n"
BAD = {
    "zero bytes": ("part-0.parquet", b"", "is empty (0 bytes)"),
    "semicolons": ("part-0.csv", _csv(HEADER.replace(",", ";") + "1;2;3;2017-10-27\n"), "semicolon-separated"),
    "extra column": ("part-0.csv", _csv(HEADER.strip() + ",note\n1,2,3,2017-10-27,x\n"), "extra column(s) note"),
    "missing column": ("part-0.csv", _csv("household_id,coupon_upc,campaign_id\n1,2,3\n"), "missing column(s)"),
    "latin-1 in a field": (
        "part-0.csv",
        _csv(HEADER) + "1,2,3,2017-10-27 caf\xe9\n".encode("latin-1"),
        "does not parse",
    ),
    "a text amount": ("part-0.csv", _csv(HEADER + "1,abc,3,2017-10-27\n"), "does not parse"),
    "not parquet": ("part-0.parquet", b"PAR1 this is not parquet", "is not readable parquet"),
    "an unknown format": ("part-0.json", b"{}", "is neither .parquet nor .csv"),
}


def _landing_stops(local: Path, store: LocalStore, monkeypatch) -> pytest.ExceptionInfo[GateFailed]:
    """Land the local drop zone ``local`` into ``store``: it must stop like a gate."""
    monkeypatch.setenv("COUPONFLOW_SOURCE", "dropzone")
    monkeypatch.setenv("COUPONFLOW_DROPZONE_URL", str(local))
    with pytest.raises(GateFailed) as exc:
        land_through(store, get_source(load_settings()), DAYS[-1])
    return exc


@pytest.mark.parametrize("kind", sorted(BAD))
def test_a_bad_file_is_quarantined_with_one_line_and_a_corrected_drop_lands(kind, example, tmp_path, monkeypatch):
    local = tmp_path / "drop"
    shutil.copytree(example, local)
    name, data, problem = BAD[kind]
    folder = local / f"coupon_redemptions/date={DAYS[1]}"
    good = {p.name: p.read_bytes() for p in folder.glob("part-*")}
    for old in folder.glob("part-*"):
        old.unlink()
    (folder / name).write_bytes(data)
    store = LocalStore(tmp_path / "lake")
    exc = _landing_stops(local, store, monkeypatch)
    line = str(exc.value)
    assert f"drop zone file coupon_redemptions/date={DAYS[1]}/{name}" in line and problem in line, line
    assert "\n" not in line and "Fix: correct the file in the drop zone" in line
    assert [k for d in DAYS for k in _raw_keys(store, d)] == []  # read before anything of a day is written
    # the file and the line that rejected it, in quarantine
    where = f"quarantine/raw/date={DAYS[1]}/coupon_redemptions"
    validation = json.loads(store.get(f"{where}/validation.json"))
    assert validation["checks"][0]["check"] == "readable_drop_file" and problem in validation["checks"][0]["detail"]
    if kind != "an unknown format":  # refused by its name, before it is read
        assert store.get(f"{where}/{name}") == data
    if kind != "extra column":  # one correction is enough to show it (each costs a landing)
        return
    # the upstream corrects the drop: the next run lands every day
    (folder / name).unlink()
    for n, b in good.items():
        (folder / n).write_bytes(b)
    assert land_through(store, get_source(load_settings()), DAYS[-1]).landed_days == DAYS


def test_two_schemas_in_one_day_folder_are_refused(example, tmp_path, monkeypatch):
    """A second file with the contract's columns in another order still lands (read by name); one
    with another column set is refused by name."""
    local = tmp_path / "drop"
    shutil.copytree(example, local)
    folder = local / f"transactions/date={DAYS[1]}"
    table = pq.read_table(folder / "part-0.parquet")
    pq.write_table(table.slice(10), folder / "part-0.parquet")  # the upstream's split: later keys first
    pq.write_table(table.slice(0, 10).select(list(reversed(table.column_names))), folder / "part-1.parquet")
    monkeypatch.setenv("COUPONFLOW_SOURCE", "dropzone")
    monkeypatch.setenv("COUPONFLOW_DROPZONE_URL", str(local))
    source = get_source(load_settings())
    assert source.day("transactions", DAYS[1]).equals(table)  # sorted by the key, whatever the split
    pq.write_table(table.slice(0, 5).drop_columns(["week"]), folder / "part-3.parquet")
    source = get_source(load_settings())
    with pytest.raises(BadDropFile, match=rf"transactions/date={DAYS[1]}/part-3.parquet .*missing column\(s\) week"):
        source.day("transactions", DAYS[1])


# -- settings and the zone itself ------------------------------------------------------------------


@pytest.mark.parametrize(
    "env,message",
    [
        ({"COUPONFLOW_SOURCE": "dropzone"}, "COUPONFLOW_DROPZONE_URL is required when COUPONFLOW_SOURCE=dropzone"),
        (
            {"COUPONFLOW_DROPZONE_URL": "http://host/drop"},
            "COUPONFLOW_DROPZONE_URL: must be a local directory or s3://",
        ),
        ({"COUPONFLOW_DROPZONE_ENDPOINT_URL": "127.0.0.1:8333"}, "COUPONFLOW_DROPZONE_ENDPOINT_URL: must be a URL"),
        (
            {"COUPONFLOW_DROPZONE_ACCESS_KEY_ID": "k"},
            "COUPONFLOW_DROPZONE_ACCESS_KEY_ID and COUPONFLOW_DROPZONE_SECRET",
        ),
    ],
)
def test_bad_drop_zone_settings_are_one_line_naming_the_variable(env, message, monkeypatch):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(SettingsError) as exc:
        load_settings()
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_the_zone_is_checked_and_its_secret_never_shown(tmp_path, monkeypatch, seaweed, s3_bucket):
    monkeypatch.setenv("COUPONFLOW_SOURCE", "dropzone")
    monkeypatch.setenv("COUPONFLOW_DROPZONE_URL", str(tmp_path / "nowhere"))
    source = get_source(load_settings())
    with pytest.raises(StoreMisconfigured, match="is not a directory: fix COUPONFLOW_DROPZONE_URL"):
        source.zone.verify()
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("COUPONFLOW_DROPZONE_URL", str(tmp_path / "empty"))
    with pytest.raises(UpstreamNotReady, match="holds no day yet"):
        get_source(load_settings()).first_day  # noqa: B018
    monkeypatch.setenv("COUPONFLOW_DROPZONE_URL", f"s3://{s3_bucket}-missing/drop")
    monkeypatch.setenv("COUPONFLOW_DROPZONE_ENDPOINT_URL", seaweed["endpoint"])
    monkeypatch.setenv("COUPONFLOW_DROPZONE_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("COUPONFLOW_DROPZONE_SECRET_ACCESS_KEY", "not-the-secret-xyz")
    with pytest.raises(StoreMisconfigured) as exc:
        get_source(load_settings()).zone.verify()
    assert "COUPONFLOW_DROPZONE_" in str(exc.value) and "COUPONFLOW_S3_" not in str(exc.value)
    assert "not-the-secret-xyz" not in str(exc.value)


# -- the drop zone's own gate bands (DESIGN: thresholds are per source) -----------------------------


def test_the_drop_zone_carries_its_own_volume_band(bundled):
    """A 4x day (a promotion at a small retailer) fails the real year's hard 3x band but only warns
    for a drop zone; 12x fails both."""
    day = date(2017, 10, 20)
    base = bundled.day("transactions", day)
    history = {day - timedelta(days=i): 100 for i in range(1, 15)}

    def volume_checks(rows: int, source: str):
        part = {day: manifest.parquet_bytes(base.slice(0, rows))}
        ctx = RawContext(row_history=history, source=source)
        result = check_partitions("transactions", part, context=ctx)[day]
        return result.success, [
            (c.severity, c.detail) for c in result.checks if c.column == "volume_ratio" and not c.success
        ]

    ok, failed = volume_checks(400, "completejourney")
    assert not ok and failed and failed[0][0] == "critical"
    ok, failed = volume_checks(400, "dropzone")
    assert ok and failed and {s for s, _ in failed} == {"warning"}
    assert volume_checks(1200, "dropzone")[0] is False
    assert volume_checks(100, "dropzone") == (True, [])


def test_a_new_drop_zone_folder_in_a_table_that_is_not_a_day_is_refused(example, tmp_path, monkeypatch):
    local = tmp_path / "drop"
    shutil.copytree(example, local)
    (local / "transactions/date=2017-13-01").mkdir()
    (local / "transactions/date=2017-13-01/_SUCCESS").write_bytes(b"")
    monkeypatch.setenv("COUPONFLOW_SOURCE", "dropzone")
    monkeypatch.setenv("COUPONFLOW_DROPZONE_URL", str(local))
    with pytest.raises(
        BadDropFile, match="transactions/date=2017-13-01 is not a day: name day folders date=YYYY-MM-DD"
    ):
        get_source(load_settings()).days()


def test_the_example_has_the_layout_and_a_campaign_start(example):
    for spec in SNAPSHOT_TABLES:
        assert (example / spec.name / "snapshot" / "_SUCCESS").is_file()
    for d in DAYS:
        for spec in DAILY_TABLES:
            assert (example / spec.name / f"date={d}" / "_SUCCESS").is_file()
    assert sorted(p.name for p in (example / "coupon_redemptions" / f"date={DAYS[1]}").iterdir()) == [
        "_SUCCESS",
        "part-0.csv",
    ]
    recipients = pacsv.read_csv(example / "campaigns" / f"date={DAYS[-1]}" / "part-0.csv")
    assert set(recipients["campaign_id"].to_pylist()) == {18} and recipients.num_rows == 1133


def test_csv_is_typed_by_the_contract_never_guessed(example, tmp_path, monkeypatch):
    """Text that looks like a number stays text, an empty field is missing, a quoted "" is empty text:
    what an inferring reader (pandas, pyarrow without types) would turn into 12 or NaN."""
    local = tmp_path / "drop"
    shutil.copytree(example, local)
    folder = local / "products/snapshot"
    (folder / "part-0.parquet").unlink()
    (folder / "part-0.csv").write_text(
        "product_id,manufacturer_id,department,brand,product_category,product_type,package_size\n"
        '1,7,0012,National,,"",16 OZ\n'
        "2,8,0013,Private,MILK,WHOLE,1 GA\n"
    )
    monkeypatch.setenv("COUPONFLOW_SOURCE", "dropzone")
    monkeypatch.setenv("COUPONFLOW_DROPZONE_URL", str(local))
    products = get_source(load_settings()).snapshot("products")
    assert products.schema == RAW_TABLES["products"].schema
    assert products["department"].to_pylist() == ["0012", "0013"]
    assert products["product_category"].to_pylist() == [None, "MILK"]
    assert products["product_type"].to_pylist() == ["", "WHOLE"]


def _with(table, column: str, i: int, value):
    values = table[column].to_pylist()
    values[i] = value
    return table.set_column(table.schema.get_field_index(column), column, pa.array(values, table[column].type))


# the kinds tests/data/test_raw_gate.py builds, dropped as files: (edit of the day's rows, the check that stops it)
GATE_KINDS = {
    "null key": (lambda t: _with(t, "basket_id", 0, None), "expect_column_values_to_not_be_null"),
    "duplicate rows": (lambda t: pa.concat_tables([t, t.slice(0, 5)]), "expect_compound_columns_to_be_unique"),
    "negative amount": (lambda t: _with(t, "sales_value", 1, -3.5), "expect_column_values_to_be_between"),
    "a timestamp in the future": (
        lambda t: _with(t, "transaction_timestamp", 0, datetime(2031, 1, 1, 9)),
        "expect_column_pair_values_to_be_equal",
    ),
}


@pytest.mark.parametrize("kind", sorted(GATE_KINDS))
def test_rows_the_raw_gate_refuses_are_quarantined_from_the_drop_zone(kind, example, tmp_path, monkeypatch):
    local = tmp_path / "drop"
    shutil.copytree(example, local)
    edit, check = GATE_KINDS[kind]
    path = local / f"transactions/date={DAYS[1]}/part-0.parquet"
    pq.write_table(edit(pq.read_table(path)), path)
    store = LocalStore(tmp_path / "lake")
    exc = _landing_stops(local, store, monkeypatch)
    line = str(exc.value)
    assert "transactions" in line and DAYS[1].isoformat() in line and "Fix:" in line and "\n" not in line, line
    assert check in [c.check for r in exc.value.results for c in r.failures]
    assert landed_days(store) == DAYS[:1] and _raw_keys(store, DAYS[1]) == []
    assert store.exists(f"quarantine/raw/date={DAYS[1]}/transactions/validation.json")


def test_a_parquet_column_of_another_kind_is_refused_not_cast(example, tmp_path, monkeypatch):
    """pyarrow would cast the text "3" to the number 3: the drop zone takes widening only (int32 ids)."""
    local = tmp_path / "drop"
    shutil.copytree(example, local)
    path = local / f"transactions/date={DAYS[1]}/part-0.parquet"
    table = pq.read_table(path)
    narrow = table.set_column(0, "household_id", table["household_id"].cast(pa.int32()))
    pq.write_table(narrow, path)
    monkeypatch.setenv("COUPONFLOW_SOURCE", "dropzone")
    monkeypatch.setenv("COUPONFLOW_DROPZONE_URL", str(local))
    assert get_source(load_settings()).day("transactions", DAYS[1]).equals(table)
    i = table.schema.get_field_index("quantity")
    pq.write_table(table.set_column(i, "quantity", table["quantity"].cast(pa.string())), path)
    with pytest.raises(BadDropFile, match="quantity is string, the contract needs int64"):
        get_source(load_settings()).day("transactions", DAYS[1])


def test_the_cli_refuses_before_anything_starts(local_home, tmp_path, monkeypatch):
    """Exit 2 for what no retry can fix, 3 for a zone with nothing to land yet; nothing written."""
    from typer.testing import CliRunner

    from flows.cli import app

    def run(*args: str):
        return CliRunner().invoke(app, list(args))

    res = run("backfill", "--start", "2017-03-01", "--end", "2017-03-02", "--reland", "2017-02-01")
    assert res.exit_code == 2 and "the source is completejourney" in res.output, res.output
    res = run("daily", "--catch-up", "--reland", "2017-02-01")
    assert res.exit_code == 2 and "--reland applies to one --date or a backfill" in res.output
    monkeypatch.setenv("COUPONFLOW_SOURCE", "dropzone")
    monkeypatch.setenv("COUPONFLOW_DROPZONE_URL", str(tmp_path / "nowhere"))
    res = run("daily", "--date", "2017-10-30")
    assert res.exit_code == 2 and "is not a directory: fix COUPONFLOW_DROPZONE_URL" in res.output
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("COUPONFLOW_DROPZONE_URL", str(tmp_path / "empty"))
    res = run("daily", "--date", "2017-10-30")
    assert res.exit_code == 3 and "holds no day yet" in res.output
    assert not local_home.lake_dir.exists() and not local_home.warehouse_path.exists()
