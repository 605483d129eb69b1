"""``backfill --reland D`` end to end through the CLI and real Prefect runs on a local drop zone:
a file of day D changed upstream is refused by a backfill by name, ``backfill --reland D --force``
re-lands it, rebuilds the warehouse from it and re-decides the range, and the new decisions
follow the new data (the daily ``--reland`` is tested in test_dropzone_flow)."""

from __future__ import annotations

import io
from datetime import date

import pandas as pd
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from couponflow.platform import manifest
from couponflow.platform.lake import raw_prefix
from couponflow.platform.storage import open_store
from couponflow.platform.warehouse import query_df
from tests.integration.test_dropzone_flow import START, _cli, _example

pytestmark = [pytest.mark.flow, pytest.mark.usefixtures("prefect_harness")]

FIRST = date(2017, 10, 24)  # the example's first day: its campaigns file holds every earlier campaign's recipients
GONE = 13  # a Type A campaign that ended 2017-09-24: no redemption of it falls in the example's days


def _decisions(store) -> pd.DataFrame:
    ds = manifest.read(store, f"decisions/date={START}")
    assert ds is not None
    return pq.read_table(io.BytesIO(manifest.read_object(store, ds, "decisions.parquet"))).to_pandas()


def _received(settings) -> pd.Series:
    df = query_df(
        settings,
        f"select household_id, campaigns_received from marts.household_features where as_of_date = date '{START}'",
    )
    return df.set_index("household_id")["campaigns_received"]


def test_backfill_refuses_a_changed_day_and_reland_rebuilds_and_redecides_from_it(local_home, tmp_path, monkeypatch):
    drop = _example(tmp_path / "drop")
    monkeypatch.setenv("COUPONFLOW_SOURCE", "dropzone")
    monkeypatch.setenv("COUPONFLOW_DROPZONE_URL", str(drop))
    store = open_store(local_home)
    res = _cli("backfill", "--start", str(START), "--end", str(START))
    assert res.exit_code == 0, res.output
    before, received_before = _decisions(store), _received(local_home)

    # the upstream re-exports the first day's recipients without campaign 13
    path = drop / f"campaigns/date={FIRST}/part-0.csv"
    recipients = pacsv.read_csv(path)
    gone = set(recipients.filter(pc.equal(recipients["campaign_id"], GONE))["household_id"].to_pylist())
    assert len(gone) > 1000
    kept = recipients.filter(pc.not_equal(recipients["campaign_id"], GONE))
    pacsv.write_csv(kept, path)
    res = _cli("backfill", "--start", str(START), "--end", str(START), "--force")
    assert res.exit_code == 1, res.output
    assert f"drop zone file campaigns/date={FIRST}/part-0.csv changed" in res.output
    assert f"--reland {FIRST}" in res.output
    assert manifest.read(store, raw_prefix("campaigns", FIRST)).rows() == recipients.num_rows  # the lake kept it

    res = _cli("backfill", "--start", str(START), "--end", str(START), "--reland", str(FIRST), "--force")
    assert res.exit_code == 0, res.output
    assert manifest.read(store, raw_prefix("campaigns", FIRST)).rows() == kept.num_rows
    assert not (local_home.home_dir / "warehouse.full-build-needed").exists()  # rebuilt in full
    # the warehouse holds the new day: campaign 13 is gone from every household's count
    received = _received(local_home)
    hit = sorted(gone & set(received.index))
    assert hit and (received_before[hit] - received[hit] == 1).all()
    others = sorted(set(received.index) - gone)
    assert (received_before[others] == received[others]).all()
    # and the re-decided date follows it: v0 = (redeemed + m*prior) / (received + m), one campaign
    # fewer received (and a prior that rises with it) raises the score of each of its recipients
    after = _decisions(store)
    old = before.set_index(["household_id", "campaign_id"])["score"]
    new = after.set_index(["household_id", "campaign_id"])["score"]
    assert set(old.index) == set(new.index)
    of_gone = [k for k in new.index if k[0] in gone]
    assert of_gone and (new[of_gone] > old[of_gone]).all()
