"""The report's raw section and raw Data Docs come from the lake, not from the run's memory.

A catch-up killed part-way lands its days in two runs; the re-run remembers only the second
half. Its report must still be the undisturbed run's, byte for byte, and every raw partition the
page lists must link its Data Docs page (the issue: "the raw daily tables get no Data Docs link").
"""

from __future__ import annotations

import json
import re
from datetime import date

from couponflow.app import report
from couponflow.app.ingest import land_through
from couponflow.app.report.raw_section import covered_days
from couponflow.platform import manifest
from couponflow.platform.config import load_settings
from couponflow.platform.storage import LocalStore
from tests.helpers import resources

D = date(2017, 2, 10)  # lands 2017-01-01 .. 2017-02-09 (40 days)
KILLED_AFTER = date(2017, 1, 20)  # the killed run had landed this far


def _report_bytes(res, ran) -> dict[str, bytes]:
    report.write_report(res, D, ran)
    prefix = f"reports/date={D.isoformat()}/"
    return {k: res.store.get(k) for k in res.store.list(prefix)}


def test_a_killed_then_rerun_catch_up_reports_the_same_bytes_and_links_every_raw_row(source, tmp_path):
    lakes = {}
    for name in ("undisturbed", "killed"):
        settings = load_settings(home=tmp_path / name)
        lakes[name] = resources(settings, LocalStore(settings.lake_dir), source)
    undisturbed = land_through(lakes["undisturbed"].store, source, D.replace(day=9))
    land_through(lakes["killed"].store, source, KILLED_AFTER)  # the run that was killed
    rerun = land_through(lakes["killed"].store, source, D.replace(day=9))
    assert rerun.landed_days[0] == date(2017, 1, 21) and not rerun.landed_snapshots  # it remembers half

    a = _report_bytes(lakes["undisturbed"], {"raw": undisturbed.gate_results})
    b = _report_bytes(lakes["killed"], {"raw": rerun.gate_results})
    assert a == b  # page, report.json, gates.json and every Data Docs file

    content = json.loads(a[f"reports/date={D.isoformat()}/report.json"])
    gates = content["gates"]
    # the whole window D is the first decision to use, snapshots included, whichever run landed it
    assert gates["partitions_gated"]["transactions"] == 40 and gates["partitions_gated"]["coupons"] == 1
    assert covered_days(lakes["killed"].store, D)[0] == date(2017, 1, 1)
    coupons = [p for p in gates["landed"] if p["table"] == "coupons"]
    assert coupons and all(p["partitions"] == ["snapshot"] for p in coupons)
    unknown = next(p for p in gates["landed"] if p["column"] == "unknown_product_lines")
    assert unknown["count"] == 40
    raw_rows = [r for r in gates["rows"] if r["gate"] == "raw"]
    assert len(raw_rows) == 7  # D-1's three daily tables and the four snapshots
    docs = manifest.read(lakes["killed"].store, f"reports/date={D.isoformat()}/data-docs")
    published = {o["name"] for o in docs.objects}
    for row in raw_rows:
        assert row["docs"], row
        page = row["docs"].removeprefix("data-docs/")
        assert page in published and f"/{row['partition']}/" in page, row

    # every covered daily partition links its own page, which names it (raw_docs), and so does
    # every partition a folded problem lists
    days = [d.isoformat() for d in covered_days(lakes["killed"].store, D)]
    prefix = f"reports/date={D.isoformat()}/"

    def opens_naming(href: str, partition: str) -> None:
        assert href and href.removeprefix("data-docs/") in published, (href, partition)
        html = a[prefix + href].decode()
        assert re.search(rf'Run Name</div></td><td[^>]*><div class="show-scrollbars">{partition}</div>', html), href

    by_table = gates["partition_docs"]
    assert sorted(by_table) == ["campaigns", "coupon_redemptions", "transactions"]
    for table, parts in by_table.items():
        assert [p["partition"] for p in parts] == days, table
        for p in parts:
            opens_naming(p["docs"], p["partition"])
            if table == "transactions":
                opens_naming(p["profile"], p["partition"])
                assert "/profile/" in p["profile"]
    for problem in gates["landed"]:
        listed = [d for d in problem["partitions"] if d != "..."]
        assert [d["partition"] for d in problem["partition_docs"]] == listed
        for d in problem["partition_docs"]:
            opens_naming(d["docs"], d["partition"])
    unknown_pages = next(p for p in gates["landed"] if p["column"] == "unknown_product_lines")["partition_docs"]
    assert all("/profile/" in d["docs"] for d in unknown_pages)  # the page that holds that check
    page = a[prefix + "index.html"].decode()
    assert all(f">{d}</a>" in page for d in days)


def test_a_report_covers_the_days_since_the_last_published_date(source, tmp_path):
    """After a decision on 2017-01-20, the report of 2017-02-10 covers 01-20 .. 02-09 only."""
    from couponflow.platform.lake import CAMPAIGNS, dated_prefix

    settings = load_settings(home=tmp_path / "h")
    store = LocalStore(settings.lake_dir)
    land_through(store, source, date(2017, 2, 9))
    manifest.publish(store, dated_prefix(CAMPAIGNS, date(2017, 1, 20)), {"x": b"1"}, {"kind": "campaign"})
    manifest.publish(store, dated_prefix(CAMPAIGNS, date(2017, 2, 11)), {"x": b"1"}, {"kind": "campaign"})
    days = covered_days(store, D)
    assert days[0] == date(2017, 1, 20) and days[-1] == date(2017, 2, 9) and len(days) == 21
    assert covered_days(store, date(2017, 1, 20))[0] == date(2017, 1, 1)
