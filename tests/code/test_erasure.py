"""``couponflow forget --household H``: every row of H leaves every lake object (raw partitions of
every table, decision logs, sends, replays, quarantine, the do-not-contact list) and every other
row stays as it was; manifests still verify; the request is recorded without H in clear; a
re-landing from the source does not bring H back, later days neither; the next warehouse build
holds no row of H. On real Complete Journey days."""

from __future__ import annotations

import io
import json
import shutil
from datetime import date

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from couponflow.app import erasure
from couponflow.app.ingest import land_through
from couponflow.app.publishing import advance_latest, publish_campaign
from couponflow.platform import erasures, manifest
from couponflow.platform.config import load_settings
from couponflow.platform.storage import LocalStore
from couponflow.platform.warehouse import connect, expose_lake, run_dbt
from tests.helpers import build_home, handmade_decision

H = 1923  # in demographics, a 2016 campaign's recipients, transactions of 2017-01-07 and -14, 3 redemptions
OTHERS = [712, 2488, 165]
THROUGH = date(2017, 1, 14)
LATER = date(2017, 1, 22)  # H shops on 2017-01-22 too
D = date(2017, 1, 15)


@pytest.fixture(scope="module")
def base(source, tmp_path_factory):
    """Two weeks landed and built, a published campaign naming H (and its replay), quarantine
    holding H, H on the do-not-contact list."""
    home = tmp_path_factory.mktemp("erasure") / "home"
    settings = build_home(home, source, THROUGH)
    store = LocalStore(settings.lake_dir)
    publish_campaign(
        store, settings, handmade_decision(D, [H, *OTHERS], scores=[0.1 * (i + 1) for i in range(1 + len(OTHERS))])
    )
    publish_campaign(store, settings, handmade_decision(D, [H, OTHERS[0]], scores=[0.1, 0.2]), replay=True)
    advance_latest(store, D)
    rows = manifest.parquet_bytes(pa.table({"household_id": [H, OTHERS[0]], "basket_id": [1, 2]}))
    store.put("quarantine/raw/date=2017-01-10/transactions/part-0.parquet", rows)
    store.put("quarantine/raw/date=2017-01-10/transactions/validation.json", b'{"success": false}\n')
    clean = manifest.parquet_bytes(pa.table({"household_id": [OTHERS[1]], "basket_id": [3]}))
    store.put("quarantine/raw/date=2017-01-11/transactions/part-0.parquet", clean)
    store.put("config/do_not_contact.csv", f"household_id\n{OTHERS[2]}\n{H}\n".encode())
    (settings.work_dir / "data-docs").mkdir(parents=True)
    (settings.work_dir / "data-docs" / "index.html").write_text("scratch")
    return home


@pytest.fixture
def home(base, tmp_path):
    """A copy of the base home for one test (forget rewrites it)."""
    copy = tmp_path / "home"
    shutil.copytree(base, copy)
    settings = load_settings(home=copy)
    return settings, LocalStore(settings.lake_dir)


def _objects(store) -> dict[str, bytes]:
    return {k: store.get(k) for k in store.list("")}


def _table(data: bytes) -> pa.Table:
    return pq.read_table(io.BytesIO(data))


def _names(obj, household: int) -> bool:
    """Whether a JSON value holds ``household_id: household`` anywhere."""
    if isinstance(obj, dict):
        return any((k == "household_id" and v == household) or _names(v, household) for k, v in obj.items())
    if isinstance(obj, list):
        return any(_names(v, household) for v in obj)
    return False


def _holds(key: str, data: bytes, household: int) -> bool:
    if key.endswith(".parquet"):
        t = _table(data)
        return "household_id" in t.column_names and household in t["household_id"].to_pylist()
    if key.endswith(".json"):
        return _names(json.loads(data), household)
    if key.endswith(".csv"):
        frame = pd.read_csv(io.BytesIO(data))
        return "household_id" in frame and household in frame["household_id"].tolist()
    return False


def _verify_manifests(store) -> None:
    for key in store.list(""):
        if key.endswith("/" + manifest.MANIFEST):
            ds = manifest.read(store, key.rsplit("/", 1)[0])
            for entry in ds.objects:
                data = manifest.read_object(store, ds, entry["name"])  # sha256 checked
                if "rows" in entry:
                    assert entry["rows"] == _table(data).num_rows


def _warehouse_rows_of(settings, household: int) -> dict[str, int]:
    with connect(settings) as con:
        tables = con.execute(
            "select distinct table_schema, table_name from information_schema.columns "
            "where column_name = 'household_id'"
        ).fetchall()
        return {
            f"{s}.{t}": con.execute(f'select count(*) from "{s}"."{t}" where household_id = ?', [household]).fetchone()[
                0
            ]
            for s, t in tables
        }


def test_forget_removes_every_row_of_the_household_and_leaves_every_other_row(home):
    settings, store = home
    before = _objects(store)
    held = {k for k, v in before.items() if _holds(k, v, H)}
    assert {k.split("/")[0] + "/" + k.split("/")[1] for k in held} >= {
        "raw/transactions",
        "raw/coupon_redemptions",
        "raw/campaigns",
        "raw/demographics",
        "campaigns/date=2017-01-15",
        "decisions/date=2017-01-15",
        "replay/campaigns",
        "replay/decisions",
        "quarantine/raw",
        "config/do_not_contact.csv",
    }
    assert sum(_warehouse_rows_of(settings, H).values()) > 0  # the built warehouse holds H

    done = erasure.forget(store, settings, H)
    after = _objects(store)
    assert not [k for k, v in after.items() if _holds(k, v, H)]  # no object of the lake names H
    assert done.rows_removed["raw/transactions"] == 56 and done.rows_removed["raw/coupon_redemptions"] == 3
    # every other row is the same row: parquet objects equal the old ones without H
    for key, old in before.items():
        if key.endswith(".parquet") and key in after:
            t = _table(old)
            if "household_id" in t.column_names:
                keep = pc.invert(pc.fill_null(pc.equal(t["household_id"], H), False))
                assert _table(after[key]).equals(t.filter(keep)), key
            else:
                assert after[key] == old, key
        elif not key.endswith(("manifest.json", ".parquet")) and not key.startswith(
            ("campaigns/latest.json", "config/do_not_contact.csv", "quarantine/raw/date=2017-01-10/")
        ):
            assert after.get(key) == old, key  # validation results and the rest: untouched
    assert after["config/do_not_contact.csv"] == f"household_id\n{OTHERS[2]}\n".encode()
    assert not any(k.startswith("quarantine/raw/date=2017-01-10/") for k in after)  # evidence holding H: gone
    assert (
        after["quarantine/raw/date=2017-01-11/transactions/part-0.parquet"]
        == before["quarantine/raw/date=2017-01-11/transactions/part-0.parquet"]
    )
    # every manifest still verifies (sha256, rows), latest.json names the rewritten campaign's manifest
    _verify_manifests(store)
    latest = json.loads(after["campaigns/latest.json"])
    assert latest["sends"] == 3
    assert latest["manifest_sha256"] == manifest.sha256(after["campaigns/date=2017-01-15/manifest.json"])
    meta = json.loads(after["raw/transactions/date=2017-01-14/manifest.json"])
    old_meta = json.loads(before["raw/transactions/date=2017-01-14/manifest.json"])
    assert {k: v for k, v in meta.items() if k != "objects"} == {k: v for k, v in old_meta.items() if k != "objects"}
    # the request is recorded, H only hashed with the lake's salt
    records = [k for k in after if k.startswith("erasures/") and k != erasures.SALT_KEY]
    assert records == [done.record_key]
    record = json.loads(after[done.record_key])
    salt = erasures.load_salt(store)
    assert record["household_sha256"] == erasures.household_hash(salt, H) and record["status"] == "done"
    assert "pending" not in record and str(H) not in json.dumps(record).replace(record["household_sha256"], "")
    # the home holds no copy of H: the warehouse and the scratch are gone
    assert not settings.warehouse_path.exists() and not settings.work_dir.exists()
    # forgetting again changes nothing and says so
    again = erasure.forget(store, settings, H)
    assert again.already_forgotten and _objects(store) == after


def test_relanding_brings_nothing_back_and_the_next_build_holds_no_row(home, source):
    settings, store = home
    erasure.forget(store, settings, H)
    rewritten = {k: store.get(k) for k in store.list("raw/transactions/date=2017-01-14/")}
    # the day and the demographics land again from the source, and the days after it for the first time
    for key in store.list("raw/transactions/date=2017-01-14/") + store.list("raw/demographics/snapshot/"):
        store.delete(key)
    land_through(store, source, LATER)
    assert source.day("transactions", LATER)["household_id"].to_pylist().count(H) > 0  # the source still has H
    assert not [k for k in store.list("raw/") if _holds(k, store.get(k), H)]
    relanded = store.get("raw/transactions/date=2017-01-14/part-0.parquet")
    assert _table(relanded).equals(_table(rewritten["raw/transactions/date=2017-01-14/part-0.parquet"]))
    _verify_manifests(store)
    expose_lake(settings, store)
    run_dbt(settings, "build", "--exclude-resource-type", "unit_test")
    rows = _warehouse_rows_of(settings, H)
    assert rows and set(rows.values()) == {0}, rows
    assert sum(_warehouse_rows_of(settings, OTHERS[0]).values()) > 0  # the others are still there


def test_an_unknown_household_is_refused_with_nothing_written(home):
    settings, store = home
    before = _objects(store)
    with pytest.raises(erasure.UnknownHousehold, match="999999 is not in the lake"):
        erasure.forget(store, settings, 999999)
    assert _objects(store) == before and settings.warehouse_path.exists()
    with pytest.raises(ValueError, match="not a household id"):
        erasure.parse_household("12a")


def test_a_crash_part_way_is_finished_by_a_rerun(home, monkeypatch):
    settings, store = home
    calls = {"n": 0}
    real = erasure._rewrite

    def crash_after_three(store_, prefix, household_id):
        calls["n"] += 1
        if calls["n"] > 3:
            raise RuntimeError("killed")
        real(store_, prefix, household_id)

    monkeypatch.setattr(erasure, "_rewrite", crash_after_three)
    with pytest.raises(RuntimeError, match="killed"):
        erasure.forget(store, settings, H)
    (record,) = [json.loads(store.get(k)) for k in erasures.record_keys(store)]
    assert record["status"] == "in progress" and record["pending"]
    monkeypatch.setattr(erasure, "_rewrite", real)
    done = erasure.forget(store, settings, H)
    assert not done.already_forgotten
    assert not [k for k in store.list("") if _holds(k, store.get(k), H)]
    _verify_manifests(store)
    (key,) = erasures.record_keys(store)
    assert json.loads(store.get(key))["status"] == "done"


def test_the_forget_command(home, monkeypatch):
    from flows.cli import app

    settings, store = home
    monkeypatch.setenv("COUPONFLOW_HOME", str(settings.home_dir))
    settings.warehouse_path.unlink()  # no warehouse to rebuild: the command's own work only
    runner = CliRunner()
    before = _objects(store)
    bad = runner.invoke(app, ["forget", "--household", "abc"])
    assert bad.exit_code == 2 and "not a household id" in bad.output and _objects(store) == before
    unknown = runner.invoke(app, ["forget", "--household", "999999"])
    assert unknown.exit_code == 2 and "not in the lake" in unknown.output and _objects(store) == before
    ok = runner.invoke(app, ["forget", "--household", str(H)])
    assert ok.exit_code == 0, ok.output
    assert "forgotten" in ok.output and "erasures/" in ok.output
    assert not [k for k in store.list("") if _holds(k, store.get(k), H)]


def test_a_crash_between_an_object_and_its_manifest_is_repaired_by_a_rerun(home, monkeypatch):
    """The object is rewritten, the manifest not yet: readers refuse the dataset (never wrong rows
    silently), and the re-run, which no longer finds H there, describes it anew from the record."""
    settings, store = home
    real_put = store.put
    state = {"objects": 0}

    def put(key, data):
        if key.startswith("raw/transactions/") and key.endswith(".parquet"):
            state["objects"] += 1
        elif key.startswith("raw/transactions/") and key.endswith(manifest.MANIFEST) and state["objects"]:
            raise RuntimeError("killed")
        real_put(key, data)

    monkeypatch.setattr(store, "put", put)
    with pytest.raises(RuntimeError, match="killed"):
        erasure.forget(store, settings, H)
    monkeypatch.setattr(store, "put", real_put)
    with pytest.raises(manifest.ManifestError):
        _verify_manifests(store)
    erasure.forget(store, settings, H)
    _verify_manifests(store)
    assert not [k for k in store.list("") if _holds(k, store.get(k), H)]


def test_every_snapshot_version_holding_the_household_is_rewritten_and_keeps_its_window(home):
    """A later demographics version (a drop zone's new snapshot) names H too: forget rewrites
    both versions under new manifests that keep their version and valid_from, and the others'
    rows stay."""
    from couponflow.platform import snapshots

    settings, store = home
    (v1,) = snapshots.versions(store, "demographics")
    rows = _table(manifest.read_object(store, v1.dataset, "part-0.parquet"))
    assert H in rows["household_id"].to_pylist()
    meta = {k: v for k, v in v1.dataset.manifest.items() if k not in ("objects", "schema_version")}
    manifest.publish(
        store,
        "raw/demographics/snapshot/version=2",
        {"part-0.parquet": manifest.parquet_bytes(rows.slice(0, rows.num_rows - 1))},  # one row fewer
        {**meta, "version": 2, "valid_from": THROUGH.isoformat()},
    )
    erasure.forget(store, settings, H)
    after = snapshots.versions(store, "demographics")
    assert [(v.version, v.valid_from) for v in after] == [(1, v1.valid_from), (2, THROUGH)]
    for v, want in zip(after, (rows, rows.slice(0, rows.num_rows - 1))):
        got = _table(manifest.read_object(store, v.dataset, "part-0.parquet"))
        assert H not in got["household_id"].to_pylist(), v.version
        kept = want.filter(pc.not_equal(want["household_id"], H))
        assert got.equals(kept), v.version
    _verify_manifests(store)


@pytest.mark.s3
def test_forget_on_s3_through_the_storage_interface(home, s3_store):
    settings, local = home
    for key in local.list(""):
        s3_store.put(key, local.get(key))
    cached = settings.lake_cache_dir / "raw/transactions/date=2017-01-14/part-0.parquet"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(local.get("raw/transactions/date=2017-01-14/part-0.parquet"))  # a build's copy of H's rows
    untouched = settings.lake_cache_dir / "raw/products/snapshot/version=1/part-0.parquet"
    untouched.parent.mkdir(parents=True)
    untouched.write_bytes(local.get("raw/products/snapshot/version=1/part-0.parquet"))
    done = erasure.forget(s3_store, settings, H)
    assert done.rows_removed["raw/transactions"] == 56
    assert not [k for k in s3_store.list("") if _holds(k, s3_store.get(k), H)]
    _verify_manifests(s3_store)
    assert not cached.exists() and untouched.exists()
    assert erasures.record_keys(s3_store) == [done.record_key]


def test_a_day_not_completely_landed_is_withdrawn_and_landed_whole_without_the_household(home, source):
    settings, store = home
    store.delete("raw/campaigns/date=2017-01-14/manifest.json")  # a crash between the day's tables
    done = erasure.forget(store, settings, H)
    withdrawn = {t.prefix for t in done.targets if t.action == "withdraw"}
    assert withdrawn == {"raw/transactions/date=2017-01-14", "raw/coupon_redemptions/date=2017-01-14"}
    assert not store.list("raw/transactions/date=2017-01-14/")
    land_through(store, source, THROUGH)  # the next run lands the day whole, filtered
    for table in ("transactions", "coupon_redemptions", "campaigns"):
        assert manifest.read(store, f"raw/{table}/date=2017-01-14") is not None
    assert not [k for k in store.list("raw/") if _holds(k, store.get(k), H)]
    _verify_manifests(store)


class _Killed(RuntimeError):
    """The process dies here."""


def _erased_lake(store) -> dict[str, bytes]:
    """The lake but the erasure records and the salt, which carry times and a random salt."""
    return {k: v for k, v in _objects(store).items() if not k.startswith(f"{erasures.ERASURES}/")}


def _record_without_times(store) -> dict:
    (key,) = erasures.record_keys(store)
    # home_cleared says whether that run deleted copies in the home: a run killed after clearing it
    # leaves the re-run nothing to clear
    drop = ("requested_at", "finished_at", "household_sha256", "home_cleared")
    return {k: v for k, v in json.loads(store.get(key)).items() if k not in drop}


def test_a_forget_killed_at_any_write_is_never_half_erased_and_the_rerun_gives_the_same_bytes(base, tmp_path):
    """Killed before each of its writes in turn (the record, every object, every manifest, the
    consumers' pointer, the do-not-contact list, the record's last state), a forget leaves every
    dataset that still names H listed as pending in an unfinished record, or the lake as it was;
    a re-run then leaves the lake byte for byte as an undisturbed forget does."""

    def fresh(name: str):
        shutil.copytree(base, tmp_path / name)
        settings = load_settings(home=tmp_path / name)
        return settings, LocalStore(settings.lake_dir)

    settings, store = fresh("undisturbed")
    before = _objects(store)
    writes: list[str] = []
    real_put = store.put
    store.put = lambda key, data: (writes.append(key), real_put(key, data))[1]  # type: ignore[method-assign]
    erasure.forget(store, settings, H)
    undisturbed, record = _erased_lake(store), _record_without_times(store)
    assert len(writes) > 6 and writes[0] == erasures.SALT_KEY
    for n, key in enumerate(writes):
        settings, store = fresh(f"killed-{n}")
        real = store.put
        count = {"n": 0}

        def put(k, data, real=real, count=count, n=n):
            if count["n"] == n:
                raise _Killed(f"killed before writing {k}")
            count["n"] += 1
            real(k, data)

        store.put = put  # type: ignore[method-assign]
        with pytest.raises(_Killed):
            erasure.forget(store, settings, H)
        store.put = real  # type: ignore[method-assign]
        holding = {k.rsplit("/", 1)[0] for k in store.list("") if _holds(k, store.get(k), H)}
        records = [json.loads(store.get(k)) for k in erasures.record_keys(store)]
        if not records:  # killed before the request was recorded: nothing erased yet
            assert _erased_lake(store) == {k: v for k, v in before.items()}, key
        else:
            (rec,) = records
            assert rec["status"] == "in progress", key
            pending = set(rec["pending"])
            assert all(any(p == d or p.startswith(d + "/") or d.startswith(p) for d in pending) for p in holding), (
                key,
                holding - pending,
            )
        erasure.forget(store, settings, H)
        assert _erased_lake(store) == undisturbed, key
        assert _record_without_times(store) == record, key  # the rows each dataset held, counted once
