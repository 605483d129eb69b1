"""Manifest-last publishing: atomic for readers, idempotent, content-derived."""

from __future__ import annotations

import pyarrow as pa
import pytest

from couponflow.platform import manifest
from couponflow.platform.storage import LocalStore


def _objects(n: int = 3) -> dict[str, bytes]:
    table = pa.table({"x": list(range(n)), "y": [f"v{i}" for i in range(n)]})
    return {"data.parquet": manifest.parquet_bytes(table), "note.txt": b"hello"}


def test_manifest_lists_rows_schema_and_sha(store):
    ds = manifest.publish(store, "ds/date=2017-01-01", _objects(), {"kind": "test"})
    entry = {o["name"]: o for o in ds.objects}["data.parquet"]
    assert entry["rows"] == 3
    assert entry["schema"] == [["x", "int64"], ["y", "string"]]
    assert entry["sha256"] == manifest.sha256(store.get("ds/date=2017-01-01/data.parquet"))
    assert manifest.read(store, "ds/date=2017-01-01").manifest == ds.manifest


def test_same_content_gives_same_bytes(store):
    manifest.publish(store, "ds", _objects(), {"kind": "test"})
    first = {k: store.get(k) for k in store.list("ds/")}
    manifest.publish(store, "ds", _objects(), {"kind": "test"})
    assert {k: store.get(k) for k in store.list("ds/")} == first
    assert manifest.parquet_bytes(pa.table({"x": [1]})) == manifest.parquet_bytes(pa.table({"x": [1]}))


def test_manifest_is_written_last(tmp_path):
    order: list[str] = []

    class Recording(LocalStore):
        def put(self, key, data):
            order.append(key)
            super().put(key, data)

    manifest.publish(Recording(tmp_path), "ds", _objects(), {"kind": "test"})
    assert order[-1] == "ds/manifest.json" and len(order) == 3


def test_a_crash_before_the_manifest_publishes_nothing(tmp_path):
    class Crashing(LocalStore):
        def put(self, key, data):
            if key.endswith("manifest.json"):
                raise OSError("disk gone")
            super().put(key, data)

    store = Crashing(tmp_path)
    with pytest.raises(OSError):
        manifest.publish(store, "ds", _objects(), {"kind": "test"})
    assert manifest.read(store, "ds") is None  # readers see nothing
    ds = manifest.publish(LocalStore(tmp_path), "ds", _objects(), {"kind": "test"})  # a re-run finishes
    assert all(LocalStore(tmp_path).exists(ds.key(o["name"])) for o in ds.objects)


def test_different_content_needs_force(store):
    manifest.publish(store, "ds", _objects(3), {"kind": "test"})
    with pytest.raises(FileExistsError, match="--force"):
        manifest.publish(store, "ds", _objects(4), {"kind": "test"})
    ds = manifest.publish(store, "ds", _objects(4), {"kind": "test"}, force=True)
    assert ds.rows() == 4 and manifest.read(store, "ds").rows() == 4


def test_tampered_object_is_detected(store):
    ds = manifest.publish(store, "ds", _objects(), {"kind": "test"})
    store.put("ds/note.txt", b"changed")
    with pytest.raises(manifest.ManifestError, match="sha256"):
        manifest.read_object(store, ds, "note.txt")
    store.delete("ds/note.txt")
    with pytest.raises(manifest.ManifestError, match="missing"):
        manifest.read_object(store, ds, "note.txt")
