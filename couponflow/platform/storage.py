"""Object storage behind one small interface, with two real backends.

``LocalStore`` keeps objects as files under a directory (the embedded default, zero set-up);
``S3Store`` keeps them in a bucket of any S3-compatible endpoint through boto3. Keys are
``/``-separated relative paths such as ``raw/transactions/date=2017-01-01/part-0.parquet``.
A single ``put`` is atomic for readers on both backends (a temporary file renamed into place,
or one S3 PUT); publishing several objects atomically is the manifest's job (``manifest.py``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol

from couponflow.platform.config import Settings


class StoreError(RuntimeError):
    """The object store cannot be reached or refused an operation; the message says how to fix it."""


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
        self._client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5, "mode": "standard"}),
        )

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
                raise StoreError(
                    f"{what} on {self.description} was refused ({code}): check "
                    "COUPONFLOW_S3_ACCESS_KEY_ID / COUPONFLOW_S3_SECRET_ACCESS_KEY"
                ) from None
            if code == "NoSuchBucket":
                raise StoreError(
                    f"bucket {self.bucket!r} does not exist at {self.description}: create it or fix "
                    "COUPONFLOW_S3_BUCKET"
                ) from None
            raise StoreError(f"{what} on {self.description} failed: {code or exc}") from None
        except BotoCoreError as exc:
            raise StoreError(f"cannot reach {self.description} ({exc}): check COUPONFLOW_S3_ENDPOINT_URL") from None

    def put(self, key: str, data: bytes) -> None:
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
        full = self._key(prefix) if prefix else (f"{self.prefix}/" if self.prefix else "")
        strip = len(self.prefix) + 1 if self.prefix else 0
        keys: list[str] = []
        token: str | None = None
        while True:
            kwargs = {"Prefix": full, **({"ContinuationToken": token} if token else {})}
            page = self._call("LIST", self._client.list_objects_v2, **kwargs)
            keys.extend(obj["Key"][strip:] for obj in page.get("Contents", []))
            if not page.get("IsTruncated"):
                return sorted(keys)
            token = page["NextContinuationToken"]

    def delete(self, key: str) -> None:
        self._call("DELETE", self._client.delete_object, Key=self._key(key))

    def local_path(self, key: str) -> Path | None:
        return None


def open_store(settings: Settings) -> ObjectStore:
    """The store the settings describe."""
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
