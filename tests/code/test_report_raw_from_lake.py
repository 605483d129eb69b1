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


def test_a_snapshot_versions_data_docs_use_that_versions_context(source, tmp_path, caplog):
    """The page of raw/coupons/snapshot/version=1/ is validated against version 1's products, not
    a later version's: a products version 2 (valid later) without the coupons' products would
    make version 1's coupons name unknown products on its page, which its landing never saw."""
    import io
    import logging
    from datetime import timedelta

    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from couponflow.app.report.raw_section import revalidated_records
    from couponflow.platform import snapshots
    from couponflow.platform.lake import PART, snapshot_prefix
    from couponflow.platform.landing import snapshot_context
    from expectations.raw_gate import check_partitions

    store = LocalStore(tmp_path / "lake")
    run_date = date(2017, 1, 4)
    land_through(store, source, run_date - timedelta(days=1))
    v1 = snapshots.current(store, "products")
    coupons = pq.read_table(io.BytesIO(manifest.read_object(store, snapshots.current(store, "coupons").dataset, PART)))
    products = pq.read_table(io.BytesIO(manifest.read_object(store, v1.dataset, PART)))
    kept = products.filter(pc.invert(pc.is_in(products["product_id"], coupons["product_id"])))
    buf = io.BytesIO()
    pq.write_table(kept, buf)
    meta = {k: v1.dataset.manifest[k] for k in ("kind", "contract", "source", "table", "partition")}
    manifest.publish(
        store,
        snapshot_prefix("products", 2),
        {PART: buf.getvalue()},
        {**meta, "version": 2, "valid_from": "2017-06-01"},
    )
    assert (
        snapshots.current(store, "products").version == 2
        and snapshots.current(store, "products", run_date).version == 1
    )

    with caplog.at_level(logging.WARNING):
        records = revalidated_records(store, source, run_date)
    assert not [m for m in caplog.messages if "disagrees" in m]  # each page agrees with what landing stored
    page = next(r for r in records if r["suite_name"].startswith("raw.coupons"))
    coupons_bytes = manifest.read_object(store, snapshots.current(store, "coupons").dataset, PART)
    latest = check_partitions("coupons", {None: coupons_bytes}, context=snapshot_context(store))[None].validations[0]
    assert json.dumps(page, sort_keys=True) != json.dumps(latest, sort_keys=True)  # the latest context differs
