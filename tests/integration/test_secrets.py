"""Secrets leave no trace: a daily run on S3 (a SeaweedFS server of the test's own that knows a
distinctive key pair), then the same home with a WRONG secret key, through the CLI and through
the flow as a deployment runs it, with a distinctive token in COUPONFLOW_ALERT_URL; then every
place a secret could land is scanned: the commands' stdout and stderr, every file in the home
(logs, dbt's target and logs, kept run records, Prefect's SQLite database and its results),
every object in the bucket (run records, reports, manifests, data), Prefect's database queried
table by table, the alert that was posted, and the text of the wrong key's exception."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.receiver import AlertReceiver
from tests.seaweed import SeaweedServer

KEY_ID = "AKIDcouponflowSCAN42"
SECRET = "sEcReT-couponflow-XYZ123-do-not-leak"
WRONG = "wRoNg-couponflow-SECRET-789-do-not-leak"
TOKEN = "aLeRt-couponflow-TOKEN-5e6f7a8b"
BIN = Path(sys.executable).parent


def _forms(secret: str) -> list[bytes]:
    """The secret as text, and as base64 at each of the three alignments it could start at."""
    raw = secret.encode()
    forms = [raw]
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw)
        forms.append(encoded[4:-4])  # the characters that depend on the secret's bytes alone
    return forms


SECRETS = {name: _forms(value) for name, value in {"key id": KEY_ID, "secret": SECRET, "wrong": WRONG}.items()}
SECRETS["alert token"] = _forms(TOKEN)


def _leaks(where: str, data: bytes) -> list[str]:
    return [f"{name} in {where}" for name, forms in SECRETS.items() if any(f in data for f in forms)]


def test_scanner_finds_a_planted_secret():
    assert _leaks("x", b"..." + SECRET.encode() + b"...") == ["secret in x"]
    assert _leaks("x", b"{" + base64.b64encode(b"ab" + TOKEN.encode()) + b"}") == ["alert token in x"]
    assert _leaks("x", b"nothing here") == []


# ``couponflow daily`` with the right key, then, in the same process, the daily flow itself as a
# deployment runs it (no CLI check before it) with the wrong key, which the store refuses
_GOOD_THEN_WRONG = """
import os
from datetime import date

from flows import cli

code = 0
try:
    cli.app(["daily", "--date", "2017-01-02"], prog_name="couponflow")
except SystemExit as exc:
    code = exc.code
print(f"exit code of the good run: {code}", flush=True)
os.environ["COUPONFLOW_S3_SECRET_ACCESS_KEY"] = os.environ.pop("WRONG_KEY_OF_THE_SECOND_RUN")
from flows.daily import daily

daily(run_date=date(2017, 1, 3))
"""


def _env(home: Path, endpoint: str, alert_url: str, secret: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COUPONFLOW_", "PREFECT_"))}
    env.update(
        {
            "COUPONFLOW_HOME": str(home),
            "COUPONFLOW_STORAGE": "s3",
            "COUPONFLOW_S3_ENDPOINT_URL": endpoint,
            "COUPONFLOW_S3_BUCKET": "lake",
            "COUPONFLOW_S3_ACCESS_KEY_ID": KEY_ID,
            "COUPONFLOW_S3_SECRET_ACCESS_KEY": secret,
            "COUPONFLOW_ALERT_URL": alert_url,
            "COUPONFLOW_DBT_NODE_TASKS": "false",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
            "DO_NOT_TRACK": "1",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "GX_ANALYTICS_ENABLED": "false",
        }
    )
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, timeout=240)


def _prefect_rows(db: Path) -> tuple[dict[str, int], bytes]:
    """Row counts of Prefect's tables and every value of every row, as bytes to scan."""
    con = sqlite3.connect(db)
    try:
        tables = [t for (t,) in con.execute("select name from sqlite_master where type = 'table'")]
        counts, dump = {}, []
        for table in tables:
            rows = con.execute(f'select * from "{table}"').fetchall()
            counts[table] = len(rows)
            dump.extend(repr(row).encode() for row in rows)
        return counts, b"\n".join(dump)
    finally:
        con.close()


def test_a_run_on_s3_and_runs_with_a_wrong_key_leave_no_secret_anywhere(tmp_path):
    server = SeaweedServer(tmp_path / "weed")
    identities = json.loads(server.config.read_text())["identities"]  # dev: the harness's own probe
    identities.append(
        {
            "name": "couponflow",
            "credentials": [{"accessKey": KEY_ID, "secretKey": SECRET}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }
    )
    server.config.write_text(json.dumps({"identities": identities}))
    server.start()
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    cwd.mkdir()
    try:
        client = server.client()
        client.create_bucket(Bucket="lake")
        with AlertReceiver() as receiver:
            alert_url = receiver.url(f"/hook/{TOKEN}")
            good = _env(home, server.endpoint, alert_url, SECRET)
            bad = _env(home, server.endpoint, alert_url, WRONG)
            # one process, one temporary Prefect server for both flow runs (the CLI sets PREFECT_HOME to
            # HOME/prefect: Prefect's database lies in the home); then the CLI refuses the wrong key
            both = _run([sys.executable, "-c", _GOOD_THEN_WRONG], {**good, "WRONG_KEY_OF_THE_SECOND_RUN": WRONG}, cwd)
            assert b"exit code of the good run: 0" in both.stdout, both.stderr.decode()[-3000:]
            assert both.returncode != 0 and b"StoreMisconfigured" in both.stderr, both.stderr.decode()[-3000:]
            refused = _run([str(BIN / "couponflow"), "daily", "--date", "2017-01-03"], bad, cwd)
            assert refused.returncode == 2 and b"refused" in refused.stderr, refused.stderr.decode()[-3000:]
            posts = list(receiver.posts)

        leaks: list[str] = []
        for name, proc in {"the good run and the flow with the wrong key": both, "the CLI with it": refused}.items():
            leaks += _leaks(f"{name}'s stdout", proc.stdout) + _leaks(f"{name}'s stderr", proc.stderr)

        # the wrong key's run alerted once, naming the refusal; the good run alerted nothing
        assert len(posts) == 1 and posts[0]["path"] == f"/hook/{TOKEN}"
        assert "refused" in posts[0]["json"]["message"]
        leaks += _leaks("the alert's body", posts[0]["raw"])

        # the exception the wrong key raises, in full (message, notes, repr)
        from couponflow.platform.config import load_settings
        from couponflow.platform.storage import StoreMisconfigured, check_store

        settings = load_settings(
            home=home,
            storage="s3",
            s3_endpoint_url=server.endpoint,
            s3_bucket="lake",
            s3_access_key_id=KEY_ID,
            s3_secret_access_key=WRONG,
        )
        try:
            check_store(settings)
        except StoreMisconfigured as exc:
            text = "\n".join([str(exc), repr(exc), *getattr(exc, "__notes__", [])])
            leaks += _leaks("the wrong key's exception", text.encode())
        else:
            raise AssertionError("the wrong key was accepted")
        leaks += _leaks("the settings' repr", repr(settings).encode())

        # every file in the home: logs, dbt's target and logs, warehouse, work, lake cache, Prefect
        files = [p for p in home.rglob("*") if p.is_file()]
        assert any(p.name.startswith("prefect.db") for p in files) and any(p.suffix == ".log" for p in files)
        for path in files:
            leaks += _leaks(str(path.relative_to(home)), path.read_bytes())

        # every object in the bucket: run records, reports, manifests, the data
        keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket="lake") for o in
                page.get("Contents", [])]  # fmt: skip
        (run,) = [k for k in keys if "/runs/" in k]  # the good run's; the refused one's is kept in the home
        assert json.loads(client.get_object(Bucket="lake", Key=run)["Body"].read())["status"] == "success"
        assert any("/reports/date=2017-01-02/" in k for k in keys) and any("/manifest.json" in k for k in keys)
        (kept,) = home.glob("failed-run-*.json")
        assert json.loads(kept.read_text())["status"] == "failed"
        for key in keys:
            leaks += _leaks(f"s3://lake/{key}", client.get_object(Bucket="lake", Key=key)["Body"].read())

        # Prefect's database, table by table: flow and task runs, their states, logs, artifacts, events
        counts, rows = _prefect_rows(home / "prefect" / "prefect.db")
        assert counts["flow_run"] == 2 and counts["task_run"] > 0 and counts["log"] > 0, counts
        leaks += _leaks("Prefect's database rows", rows)

        assert leaks == [], leaks
    finally:
        server.stop()
