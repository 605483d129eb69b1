"""Both storage backends behave alike (local directory, S3 on a real SeaweedFS server)."""

from __future__ import annotations

import uuid

import pytest

from couponflow.platform.storage import LocalStore, S3Store, StoreError, StoreMisconfigured, StoreUnreachable
from tests.conftest import ACCESS_KEY, SECRET_KEY
from tests.seaweed import free_port


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


def test_a_store_never_creates_its_bucket(seaweed):
    """The defect: SeaweedFS creates a bucket on the first PUT into it, so a typo in
    COUPONFLOW_S3_BUCKET grew a second lake. The store checks the bucket before it writes."""
    typo = f"t-typo-{uuid.uuid4().hex[:8]}"
    store = S3Store(typo, "lake", seaweed["endpoint"], access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY)
    for _ in range(2):  # the second write is refused too: nothing was created by the first
        with pytest.raises(StoreMisconfigured, match="COUPONFLOW_S3_BUCKET") as exc:
            store.put("runs/r.json", b"{}")
        assert repr(typo) in str(exc.value) and "\n" not in str(exc.value)
    assert typo not in {b["Name"] for b in seaweed["client"].list_buckets()["Buckets"]}


def test_verify_says_in_one_line_what_is_wrong_with_the_store(seaweed, s3_bucket):
    ok = S3Store(s3_bucket, "lake", seaweed["endpoint"], access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY)
    ok.verify()
    missing = S3Store(
        "no-such-bucket-here", "", seaweed["endpoint"], access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY
    )
    with pytest.raises(StoreMisconfigured, match=r"'no-such-bucket-here' does not exist.*COUPONFLOW_S3_BUCKET"):
        missing.verify()
    refused = S3Store(s3_bucket, "", seaweed["endpoint"], access_key_id=ACCESS_KEY, secret_access_key="wrong-secret")
    with pytest.raises(StoreMisconfigured, match="COUPONFLOW_S3_SECRET_ACCESS_KEY") as exc:
        refused.verify()
    assert "wrong-secret" not in str(exc.value)
    down = S3Store("b", "", f"http://127.0.0.1:{free_port()}", access_key_id="k", secret_access_key="s")
    with pytest.raises(StoreUnreachable, match="COUPONFLOW_S3_ENDPOINT_URL") as exc:
        down.verify()
    assert "\n" not in str(exc.value)


def test_a_local_lake_needs_no_set_up(tmp_path):
    LocalStore(tmp_path / "not-yet" / "lake").verify()  # created by the first write
    assert not (tmp_path / "not-yet").exists()
