"""Both storage backends behave alike (local directory, S3 on a real SeaweedFS server)."""

from __future__ import annotations

import pytest

from couponflow.platform.storage import S3Store, StoreError
from tests.conftest import ACCESS_KEY


def test_round_trip(store):
    store.put("a/b/one.bin", b"1")
    store.put("a/b/two.bin", b"22")
    store.put("a/c.bin", b"333")
    assert store.get("a/b/two.bin") == b"22"
    assert store.exists("a/b/one.bin") and not store.exists("a/b/none.bin")
    assert store.list("a/b/") == ["a/b/one.bin", "a/b/two.bin"]
    assert store.list("a/") == ["a/b/one.bin", "a/b/two.bin", "a/c.bin"]
    store.put("a/b/one.bin", b"replaced")
    assert store.get("a/b/one.bin") == b"replaced"
    store.delete("a/b/one.bin")
    assert not store.exists("a/b/one.bin")
    with pytest.raises(KeyError):
        store.get("a/b/one.bin")


def test_list_pages_beyond_one_s3_page(s3_store):
    for i in range(1005):  # S3 returns at most 1000 keys a page
        s3_store.put(f"many/{i:04d}", b"")
    assert len(s3_store.list("many/")) == 1005


@pytest.mark.parametrize("key", ["", "/abs", "a/../b"])
def test_bad_keys_are_refused(store, key):
    with pytest.raises(ValueError, match="invalid object key"):
        store.put(key, b"x")


def test_wrong_s3_secret_names_the_variables(seaweed, s3_bucket):
    bad = S3Store(s3_bucket, "", seaweed["endpoint"], access_key_id=ACCESS_KEY, secret_access_key="wrong")
    with pytest.raises(StoreError, match="COUPONFLOW_S3_SECRET_ACCESS_KEY") as exc:
        bad.put("x", b"1")
    assert "wrong" not in str(exc.value)


def test_missing_bucket_names_the_variable(seaweed):
    store = S3Store(
        "no-such-bucket-here", "", seaweed["endpoint"], access_key_id=ACCESS_KEY, secret_access_key="devsecret"
    )
    with pytest.raises(StoreError, match="COUPONFLOW_S3_BUCKET"):
        store.list("")


def test_unreachable_endpoint_names_the_variable():
    store = S3Store("b", "", "http://127.0.0.1:9", access_key_id="k", secret_access_key="s")
    with pytest.raises(StoreError, match="COUPONFLOW_S3_ENDPOINT_URL"):
        store.get("x")
