"""Manifest-last publishing: the only way anything becomes visible in the lake.

A *dataset* is a key prefix (``campaigns/date=2017-10-30``) holding data objects and one
``manifest.json``. ``publish`` writes the data objects first and the manifest last, so a reader
that trusts only what a manifest lists never sees a half-written dataset. Manifests are
content-derived: object names, sizes, sha256, row counts and schemas plus the caller's metadata
(code and model version, summaries), never times or run ids, so the same inputs give the same
bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from couponflow.platform.storage import ObjectStore

MANIFEST = "manifest.json"
# the layout of every manifest (and of campaigns/latest.json) that consumers may rely on; raised
# when a field they read changes meaning or goes away
SCHEMA_VERSION = 1


class ManifestError(RuntimeError):
    """A manifest lists an object that is missing or whose bytes do not match."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parquet_bytes(table: pa.Table) -> bytes:
    """Serialise a table to parquet deterministically (same table, same bytes)."""
    sink = io.BytesIO()
    pq.write_table(table.replace_schema_metadata(None), sink, compression="zstd", write_statistics=True)
    return sink.getvalue()


def to_json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=1, sort_keys=True, default=str) + "\n").encode()


def describe_object(name: str, data: bytes) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "bytes": len(data), "sha256": sha256(data)}
    if name.endswith(".parquet"):
        meta = pq.read_metadata(io.BytesIO(data))
        entry["rows"] = meta.num_rows
        entry["schema"] = [[f.name, str(f.type)] for f in meta.schema.to_arrow_schema()]
    return entry


@dataclass(frozen=True)
class Dataset:
    """A published dataset as its manifest describes it."""

    prefix: str
    manifest: dict[str, Any]

    @property
    def objects(self) -> list[dict[str, Any]]:
        return self.manifest["objects"]

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    def rows(self) -> int:
        return sum(o.get("rows", 0) for o in self.objects)


def publish(
    store: ObjectStore,
    prefix: str,
    objects: dict[str, bytes],
    meta: dict[str, Any],
    *,
    force: bool = False,
) -> Dataset:
    """Write ``objects`` under ``prefix`` and then the manifest that lists them.

    An existing manifest with identical content is left untouched (idempotent re-runs). An
    existing, different one is replaced only when ``force`` is set; its manifest is removed first
    so that readers never see it list objects that are being rewritten.
    """
    prefix = prefix.rstrip("/")
    manifest = {
        "schema_version": SCHEMA_VERSION,
        **meta,
        "objects": [describe_object(name, data) for name, data in sorted(objects.items())],
    }
    body = to_json_bytes(manifest)
    manifest_key = f"{prefix}/{MANIFEST}"
    if store.exists(manifest_key):
        if store.get(manifest_key) == body and _objects_intact(store, prefix, manifest):
            return Dataset(prefix, manifest)
        if not force:
            raise FileExistsError(
                f"{prefix} is already published with different content; re-run with --force to replace it"
            )
        store.delete(manifest_key)
    for name, data in sorted(objects.items()):
        store.put(f"{prefix}/{name}", data)
    store.put(manifest_key, body)
    return Dataset(prefix, manifest)


def withdraw(store: ObjectStore, prefix: str) -> bool:
    """Unpublish a dataset by deleting its manifest (readers stop seeing it at once); its objects
    stay until a publish overwrites them. True if there was one."""
    key = f"{prefix.rstrip('/')}/{MANIFEST}"
    if not store.exists(key):
        return False
    store.delete(key)
    return True


def _objects_intact(store: ObjectStore, prefix: str, manifest: dict[str, Any]) -> bool:
    try:
        return all(sha256(store.get(f"{prefix}/{o['name']}")) == o["sha256"] for o in manifest["objects"])
    except KeyError:
        return False


def read(store: ObjectStore, prefix: str) -> Dataset | None:
    """The dataset at ``prefix`` if a manifest publishes it, else None."""
    prefix = prefix.rstrip("/")
    try:
        body = store.get(f"{prefix}/{MANIFEST}")
    except KeyError:
        return None
    return Dataset(prefix, json.loads(body))


def read_object(store: ObjectStore, dataset: Dataset, name: str) -> bytes:
    """One object of a dataset, checked against the sha256 its manifest records."""
    entry = next((o for o in dataset.objects if o["name"] == name), None)
    if entry is None:
        raise ManifestError(f"{dataset.prefix}: the manifest lists no object {name!r}")
    try:
        data = store.get(dataset.key(name))
    except KeyError:
        raise ManifestError(
            f"{dataset.key(name)} is listed by its manifest but missing: re-run the step that "
            "published it (it re-publishes the same bytes)"
        ) from None
    if sha256(data) != entry["sha256"]:
        raise ManifestError(
            f"{dataset.key(name)} does not match the sha256 in its manifest: the object was changed "
            "after publishing; re-publish it with --force"
        )
    return data
