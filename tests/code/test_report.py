"""The operators' report: what it says, that it is self-contained and deterministic, that it
renders in a real headless Chromium without touching the network, and that its Data Docs reach
the object store (S3 included)."""

from __future__ import annotations

import json
import os
import posixpath
import re
import shutil
import subprocess
from dataclasses import replace
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from couponflow.app import report
from couponflow.app.gates import check_campaign, check_marts
from couponflow.app.publishing import publish_campaign
from couponflow.platform import data_dictionary, manifest
from couponflow.platform.storage import LocalStore
from expectations.raw_gate import check_partitions
from models.scoring import v0_scorer
from tests.helpers import decide_day

D = date(2017, 10, 30)  # campaign 18 starts
PREFIX = "reports/date=2017-10-30"


@pytest.fixture(scope="module")
def published(landed_year):
    """The year's campaign of D decided, gated and published, and its report written."""
    settings, store, res = landed_year["settings"], landed_year["store"], landed_year["res"]
    decision = decide_day(res, D, v0_scorer(settings.prior_strength))
    ran = {
        "raw": landed_year["report"].gate_results,
        "marts": check_marts(res, [D]).results,
        "campaign": check_campaign(res, decision).results,
    }
    publish_campaign(store, settings, decision)
    ds = report.write_report(res, D, ran)
    yield res, store, ds, decision, ran
    for area in ("campaigns/", "decisions/", "gates/", "reports/"):  # leave the shared year as it was
        for key in store.list(area):
            store.delete(key)


def _content(store, ds) -> dict:
    return json.loads(manifest.read_object(store, ds, report.DATA))


def _html(store, ds) -> str:
    return manifest.read_object(store, ds, report.INDEX).decode()


def test_the_report_says_what_operators_need(published):
    res, store, ds, decision, _ = published
    settings = res.settings
    c = _content(store, ds)
    assert c["verdict"].startswith("safe to send") and c["failure"] is None
    assert c["gates"]["summary"] == {"raw": "warn", "marts": "pass", "campaign": "pass"}
    camp = c["campaign"]
    assert camp["sends"] == len(decision.sends) > 0
    assert camp["expected_cost"] == pytest.approx(decision.sends["expected_cost"].sum(), abs=1e-5)
    assert camp["budget_used_share"] == pytest.approx(camp["expected_cost"] / settings.budget_per_day)
    assert camp["expected_redemptions"] == pytest.approx(decision.sends["score"].sum(), abs=1e-5)
    assert 0.03 < camp["control_share"] < 0.07 and camp["model"]["version"] == "v0"
    assert [p["campaign_id"] for p in camp["campaigns"]] == [18]
    # reach and cost by demographic segment: each dimension partitions the sends and their cost
    for dim in report.SEGMENTS:
        rows = [r for r in camp["segments"] if r["dimension"] == dim]
        assert sum(r["sends"] for r in rows) == camp["sends"] and "unknown" in {r["segment"] for r in rows}
        assert sum(r["expected_cost"] for r in rows) == pytest.approx(camp["expected_cost"], abs=1e-4)
    # the data D decides on: the three partitions of D-1 and the four snapshots, then marts and campaign
    rows = {(r["gate"], r["table"], r["partition"]): r for r in c["gates"]["rows"]}
    assert ("raw", "transactions", "2017-10-29") in rows and ("raw", "coupons", "snapshot") in rows
    assert {r["table"] for r in c["gates"]["rows"] if r["gate"] == "campaign"} == {
        "sends",
        "households",
        "campaigns",
        "totals",
        "contacts",
    }
    assert all(r["docs"] for r in c["gates"]["rows"]), [r for r in c["gates"]["rows"] if not r["docs"]]
    # the landing D is the first decision to use (the lake's days before D, never the later ones
    # the year's landing also gated), folded: one line per problem, with its documented reason
    landed = {(p["table"], p["column"]): p for p in c["gates"]["landed"]}
    assert landed[("transactions", "unknown_product_lines")]["count"] == 302
    assert ("transactions", "volume_ratio") not in landed  # its quiet days (11-24, 01-01) come after D
    assert c["gates"]["partitions_gated"]["transactions"] == 302
    page = _html(store, ds)
    assert page.count("<img ") == 3 and "Score distribution" in page and "Redemption trend" in page
    assert "known: 17 product ids" in page and "safe to send" in page
    assert "Reach and cost by segment" in page and "Closed campaigns" in page


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.refs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.refs += [(tag, k, v or "") for k, v in attrs if k in ("src", "href", "srcset", "data", "action")]


def test_the_report_is_self_contained_relative_and_deterministic(published, monkeypatch):
    res, store, ds, _, _ = published
    settings = res.settings
    page = _html(store, ds)
    parser = _Refs()
    parser.feed(page)
    assert not {"script", "link", "iframe", "object", "embed"} & set(parser.tags)
    assert not re.search(r"https?://|url\(|@import", page)
    for _tag, attr, value in parser.refs:
        if attr == "src":
            assert value.startswith("data:image/png;base64,")
        else:  # relative links into this report's Data Docs or the shared data dictionary, all published
            assert value.startswith(("data-docs/", "../data-dictionary/")), value
            assert store.exists(posixpath.normpath(f"{PREFIX}/{value}")), value
    docs = manifest.read(store, f"{PREFIX}/data-docs")
    assert docs is not None and "index.html" in [o["name"] for o in docs.objects]

    before = {k: store.get(k) for k in store.list(PREFIX + "/")}
    monkeypatch.setenv("COUPONFLOW_HOME", str(settings.home_dir))
    monkeypatch.setenv("COUPONFLOW_STORAGE", "local")
    from flows.cli import app

    out = CliRunner().invoke(app, ["report", "--date", "2017-10-30"])
    assert out.exit_code == 0, out.output
    assert "safe to send" in out.output and str(store.local_path(f"{PREFIX}/index.html")) in out.output
    dictionary = _content(store, ds)["data_dictionary"]
    assert f"data dictionary: {store.local_path(posixpath.normpath(f'{PREFIX}/{dictionary}'))}" in out.output
    assert {k: store.get(k) for k in store.list(PREFIX + "/")} == before  # same bytes, docs included


def test_a_run_that_died_between_its_campaign_and_its_report_is_reported_by_the_rerun_as_it_ran(published):
    """The daily flow publishes the gate record before the campaign (flows/daily.py); when the run
    dies before its report, the re-run reuses the campaign and must report the gates that let it
    through, not "not run" under "safe to send": the same page as the undisturbed run's."""
    res, store, _, _, ran = published
    undisturbed = {k: store.get(k) for k in store.list(PREFIX + "/")}
    report.publish_gate_record(store, D, ran)
    for key in undisturbed:  # the run died after the campaign: no report
        store.delete(key)
    rerun = report.write_report(res, D, None, reuse=True)
    assert _content(store, rerun)["gates"]["summary"] == {"raw": "warn", "marts": "pass", "campaign": "pass"}
    assert {k: store.get(k) for k in store.list(PREFIX + "/")} == undisturbed


# -- the data dictionary -------------------------------------------------------------------------


def _dictionary(store, ds) -> tuple[str, bytes]:
    href = _content(store, ds)["data_dictionary"]
    assert href and href.startswith("../data-dictionary/"), href
    key = posixpath.normpath(f"{PREFIX}/{href}")
    return key, store.get(key)


def test_the_data_dictionary_is_dbt_s_docs_of_the_build_published_once_per_content(published):
    res, store, ds, _, ran = published
    settings = res.settings
    key, page = _dictionary(store, ds)
    text = page.decode()
    # dbt's docs with the project's models, their yml descriptions and the warehouse's column types
    assert '"MANIFEST.JSON INLINE DATA"' not in text and '"CATALOG.JSON INLINE DATA"' not in text
    assert '"model.couponflow.households"' in text and '"model.couponflow.int_window_redemptions"' in text
    assert "Grain: one row per basket_id" in text  # baskets.yml
    manifest_data, catalog = _inline(text)
    assert catalog["nodes"]["model.couponflow.households"]["columns"]["household_id"]["type"]
    # nothing of one run or one machine: no times, ids or absolute paths
    assert set(manifest_data["metadata"]) == set(data_dictionary.KEPT_METADATA)
    for absolute in (str(settings.home_dir), str(data_dictionary.DBT_PROJECT_DIR), "site-packages/"):
        assert absolute not in text, absolute
    assert not re.search(r'"(generated_at|invocation_id|run_started_at)"', text)
    assert not re.search(r"\"created_at\":(?!0[,}])", text)  # dbt stamps every node with its parse time
    assert {m["package_name"] for m in manifest_data["macros"].values()} == {"couponflow"}
    # stored once per content: another report of the same build links the same object, rebuilt
    # from scratch it is the same bytes
    digest = key.split("/")[2]
    assert digest == data_dictionary.dictionary_key(settings)
    assert data_dictionary.build_page(settings) == page
    other = report.write_report(res, date(2017, 10, 31), {"marts": ran["marts"]})
    assert _dictionary(store, other) == (key, page)
    assert [k for k in store.list("reports/data-dictionary/")] == [key, key.replace("index.html", "manifest.json")]


def _inline(page: str) -> tuple[dict, dict]:
    """The manifest and catalog dbt's page holds inline (``var n={manifest:{...},catalog:{...}}``)."""
    decoder, head = json.JSONDecoder(), "{manifest:"
    manifest_data, end = decoder.raw_decode(page, page.index(head) + len(head))
    assert page[end:].startswith(",catalog:")
    catalog, _ = decoder.raw_decode(page, end + len(",catalog:"))
    return manifest_data, catalog


# -- a real headless Chromium ------------------------------------------------------------------

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        message = "Debian's chromium is not installed: `make test` installs it (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return exe


def _render(page: Path, tmp: Path) -> tuple[Path, list[str]]:
    """Screenshot ``page``; return it with the URLs the page itself asked the network for."""
    shot, netlog = tmp / "shot.png", tmp / "net.json"
    subprocess.run(
        [
            _chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp / 'profile'}",
            f"--log-net-log={netlog}",
            "--window-size=1200,1600",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    log = json.loads(netlog.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    # Chromium's own services (updates, time) have no initiating origin; the page's requests do
    requested = [
        e["params"]["url"]
        for e in log["events"]
        if e["type"] == start and "url" in e.get("params", {}) and e["params"].get("initiator") != "not an origin"
    ]
    return shot, requested


def test_the_report_renders_in_headless_chromium_and_loads_nothing_from_outside(published, tmp_path):
    from PIL import Image

    _, store, _, _, _ = published
    shot, requested = _render(store.local_path(f"{PREFIX}/index.html"), tmp_path / "report")
    assert requested == []
    img = Image.open(shot).convert("RGB")
    assert img.size == (1200, 1600)
    colors = img.getcolors(maxcolors=1 << 20)
    white = sum(n for n, c in colors if min(c) > 245)
    assert len(colors) > 100 and white < 0.97 * img.size[0] * img.size[1]  # text, tables and plots

    # the check above does see a page that loads from outside
    probe = tmp_path / "probe.html"
    probe.write_text("<!doctype html><img src='http://example.invalid/x.png'>")
    _, requested = _render(probe, tmp_path / "probe")
    assert requested == ["http://example.invalid/x.png"]


def test_the_data_dictionary_opens_from_a_file_with_the_network_off(published, tmp_path):
    """dbt's app runs from ``file://`` (no fetch of manifest.json, which a browser refuses there):
    the DOM after its scripts ran holds the project tree it built from the inline manifest."""
    _, store, ds, _, _ = published
    key, _ = _dictionary(store, ds)
    dom = subprocess.run(
        [
            _chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            store.local_path(key).as_uri(),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    for model in ("marts", "intermediate", "households", "baskets", "before_as_of"):  # folders, models, a macro
        assert f'<span class="filename-normal ng-binding">{model}</span>' in dom, model


# -- S3, and a stopped run ---------------------------------------------------------------------


def test_data_docs_reach_s3_with_the_report(published, s3_store):
    res, _, _, _, ran = published
    ds = report.write_report(replace(res, store=s3_store), D, {"marts": ran["marts"], "campaign": ran["campaign"]})
    keys = set(s3_store.list(f"{PREFIX}/"))
    assert {
        f"{PREFIX}/index.html",
        f"{PREFIX}/gates.json",
        f"{PREFIX}/data-docs/index.html",
        f"{PREFIX}/data-docs/manifest.json",
    } <= keys
    pages = [k for k in keys if "/data-docs/validations/" in k]
    assert len(pages) == 10  # 5 marts suites and 5 campaign suites
    dictionary = set(s3_store.list("reports/data-dictionary/"))
    for href in re.findall(r"href='([^']+)'", manifest.read_object(s3_store, ds, report.INDEX).decode()):
        assert posixpath.normpath(f"{PREFIX}/{href}") in keys | dictionary


def test_the_report_of_a_stopped_run_names_the_problem_and_the_fix(published, source, tmp_path):
    res, _, _, _, _ = published
    store = LocalStore(tmp_path / "lake")
    res = replace(res, store=store)
    tx = source.day("transactions", date(2017, 10, 28))
    bad = check_partitions("transactions", {date(2017, 10, 28): b"not parquet"})[date(2017, 10, 28)]
    line = bad.one_line()
    ds = report.write_report(res, D, {"raw": [bad]}, failure=line, failed_gate="raw")
    c = _content(store, ds)
    assert c["verdict"].startswith("STOPPED") and c["failure"] == line and tx.num_rows > 0
    assert c["gates"]["summary"] == {"raw": "fail", "marts": "not run", "campaign": "not run"}
    (problem,) = c["gates"]["landed"]
    assert problem["check"] == "readable_parquet" and "re-export" in problem["fix"]
    page = _html(store, ds)
    assert "STOPPED" in page and "readable_parquet" in page and "No campaign was published" in page
    # a later good run for the date replaces the stopped report
    ds = report.write_report(res, D, {"marts": check_marts(res, [D]).results})
    assert _content(store, ds)["failure"] is None and _content(store, ds)["gates"]["summary"]["raw"] == "not run"
    assert b"STOPPED" not in manifest.read_object(store, ds, report.INDEX)
