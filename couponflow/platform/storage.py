"""Object storage behind one small interface, with two real backends.

``LocalStore`` keeps objects as files under a directory (the embedded default, zero set-up);
``S3Store`` keeps them in a bucket of any S3-compatible endpoint through boto3. Keys are
``/``-separated relative paths such as ``raw/transactions/date=2017-01-01/part-0.parquet``.
A single ``put`` is atomic for readers on both backends (a temporary file renamed into place,
or one S3 PUT); publishing several objects atomically is the manifest's job (``manifest.py``).

A store never creates a bucket: some S3 servers (SeaweedFS) create one on the first PUT into
it, so a typo in the bucket's name would grow a second lake. ``S3Store`` checks that its bucket
exists (HEAD bucket) before its first write, and ``check_store`` checks it, with short timeouts,
before a command starts any work.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol

from couponflow.platform.config import Settings


class StoreError(RuntimeError):
    """The object store cannot be reached or refused an operation; the message says how to fix it."""


class StoreMisconfigured(StoreError):
    """A setting of the store is wrong (no such bucket, credentials refused): retrying cannot help."""


class StoreUnreachable(StoreError):
    """The endpoint could not be reached after retries (down, wrong host or port): retry later."""


class ObjectStore(Protocol):
    """What the pipeline needs from object storage."""

    description: str

    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def list(self, prefix: str) -> list[str]: ...
    def delete(self, key: str) -> None: ...
    def local_path(self, key: str) -> Path | None:
        """A path the warehouse can read directly, or None when the object must be fetched."""
        ...

    def verify(self) -> None:
        """Raise StoreMisconfigured or StoreUnreachable unless the store can be used, quickly."""
        ...


def _check_key(key: str) -> str:
    if not key or key.startswith("/") or ".." in key.split("/"):
        raise ValueError(f"invalid object key {key!r}: keys are relative paths without '..'")
    return key


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.description = f"local directory {self.root}"

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.name)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> list[str]:
        base = self.root / prefix if prefix else self.root
        # list everything under the deepest existing directory of the prefix, then filter
        start = base if base.is_dir() else base.parent
        if not start.is_dir():
            return []
        keys = []
        for path in start.rglob("*"):
            if path.is_file() and not path.name.startswith(".tmp-"):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def verify(self) -> None:
        """The embedded default needs no set-up: the directory is created by the first write."""
        if self.root.exists() and not self.root.is_dir():
            raise StoreMisconfigured(f"the lake {self.root} is not a directory: move it away or fix COUPONFLOW_HOME")


class S3Store:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.description = f"s3://{bucket}/{self.prefix} at {endpoint_url or 'AWS'}"
        self._endpoint = endpoint_url or "AWS"
        self._bucket_checked = False

        def client(connect_timeout: float, read_timeout: float, attempts: int):
            return boto3.client(
                "s3",
                endpoint_url=endpoint_url,
                region_name=region,
                aws_access_key_id=access_key_id,
                aws_secret_access_key=secret_access_key,
                config=Config(
                    s3={"addressing_style": "path"},
                    retries={"max_attempts": attempts, "mode": "standard"},
                    connect_timeout=connect_timeout,
                    read_timeout=read_timeout,
                ),
            )

        self._client = client(connect_timeout=10, read_timeout=60, attempts=5)
        # verify(): a wrong endpoint must be said within seconds, before any work starts
        self._probe = client(connect_timeout=2, read_timeout=5, attempts=2)

    def _key(self, key: str) -> str:
        _check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _call(self, what: str, fn, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404"):
                raise KeyError(kwargs.get("Key", "")) from None
            if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"):
                raise self._refused(what, code) from None
            if code == "NoSuchBucket":
                raise self._no_bucket() from None
            raise StoreError(f"{what} on {self.description} failed: {code or exc}") from None
        except BotoCoreError as exc:
            raise self._boto_error(exc) from None

    def _refused(self, what: str, code: str) -> StoreMisconfigured:
        return StoreMisconfigured(
            f"{what} on {self.description} was refused ({code}): check "
            "COUPONFLOW_S3_ACCESS_KEY_ID / COUPONFLOW_S3_SECRET_ACCESS_KEY"
        )

    def _no_bucket(self) -> StoreMisconfigured:
        return StoreMisconfigured(
            f"bucket {self.bucket!r} does not exist at {self._endpoint}: fix COUPONFLOW_S3_BUCKET, or create the "
            "bucket first (couponflow never creates one)"
        )

    def _boto_error(self, exc: Exception) -> StoreError:
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import HTTPClientError, NoCredentialsError

        if isinstance(exc, NoCredentialsError):
            return StoreMisconfigured(
                f"no S3 credentials for {self.description}: set COUPONFLOW_S3_ACCESS_KEY_ID and "
                "COUPONFLOW_S3_SECRET_ACCESS_KEY"
            )
        if isinstance(exc, BotoConnectionError | HTTPClientError):  # refused, DNS, timed out, dropped
            return StoreUnreachable(
                f"cannot reach {self.description} ({exc}): check COUPONFLOW_S3_ENDPOINT_URL, or retry once "
                "the endpoint is up"
            )
        return StoreError(f"{self.description}: {exc}")

    def verify(self, quick: bool = True) -> None:
        """Check that the endpoint answers and the bucket exists (HEAD bucket), once per store;
        ``quick`` uses short timeouts and one retry, so that a wrong endpoint is said in seconds."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            (self._probe if quick else self._client).head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = exc.response.get("Error", {}).get("Code", "")
            if status == 404 or code in ("404", "NoSuchBucket"):
                headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
                if not any(h.lower().startswith("x-amz-") for h in headers):  # S3 servers send x-amz-request-id
                    raise StoreMisconfigured(
                        f"bucket {self.bucket!r} does not exist at {self._endpoint}, or that is no S3 endpoint (it "
                        "answered 404 without S3's headers): check COUPONFLOW_S3_ENDPOINT_URL and COUPONFLOW_S3_BUCKET"
                    ) from None
                raise self._no_bucket() from None
            if status == 403 or code in ("403", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"):
                raise self._refused("HEAD bucket", code) from None
            raise StoreError(f"HEAD bucket on {self.description} failed: {code or exc}") from None
        except BotoCoreError as exc:
            raise self._boto_error(exc) from None
        self._bucket_checked = True

    def put(self, key: str, data: bytes) -> None:
        if not self._bucket_checked:  # a PUT into a missing bucket would create it (SeaweedFS)
            self.verify(quick=False)
        self._call("PUT", self._client.put_object, Key=self._key(key), Body=data)

    def get(self, key: str) -> bytes:
        return self._call("GET", self._client.get_object, Key=self._key(key))["Body"].read()

    def exists(self, key: str) -> bool:
        try:
            self._call("HEAD", self._client.head_object, Key=self._key(key))
            return True
        except KeyError:
            return False

    def list(self, prefix: str) -> list[str]:
        return sorted(self.list_objects(prefix))

    def list_objects(self, prefix: str) -> dict[str, tuple[int, str]]:
        """key -> (size, ETag without quotes) of every object under ``prefix``, from the listing
        alone (no object is read)."""
        full = self._key(prefix) if prefix else (f"{self.prefix}/" if self.prefix else "")
        strip = len(self.prefix) + 1 if self.prefix else 0
        out: dict[str, tuple[int, str]] = {}
        token: str | None = None
        while True:
            kwargs = {"Prefix": full, **({"ContinuationToken": token} if token else {})}
            page = self._call("LIST", self._client.list_objects_v2, **kwargs)
            for obj in page.get("Contents", []):
                out[obj["Key"][strip:]] = (int(obj.get("Size", 0)), str(obj.get("ETag", "")).strip('"'))
            if not page.get("IsTruncated"):
                return out
            token = page["NextContinuationToken"]

    def delete(self, key: str) -> None:
        self._call("DELETE", self._client.delete_object, Key=self._key(key))

    def local_path(self, key: str) -> Path | None:
        return None


def check_store(settings: Settings) -> ObjectStore:
    """The store the settings describe, verified (endpoint reachable, bucket exists) before any
    work: raises StoreMisconfigured or StoreUnreachable with one line that says the fix."""
    store = open_store(settings)
    store.verify()
    return store


def open_store(settings: Settings) -> ObjectStore:
    """The store the settings describe (nothing is checked until it is used: see check_store)."""
    if settings.storage == "local":
        return LocalStore(settings.lake_dir)
    assert settings.s3_bucket  # checked by Settings
    return S3Store(
        bucket=settings.s3_bucket,
        prefix=settings.s3_prefix,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id.get_secret_value() if settings.s3_access_key_id else None,
        secret_access_key=(settings.s3_secret_access_key.get_secret_value() if settings.s3_secret_access_key else None),
    )
