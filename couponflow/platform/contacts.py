"""Our own contact history and the do-not-contact list, read from the lake.

The do-not-contact list is ``config/do_not_contact.csv`` in the lake (one ``household_id`` per
line, with a header); it is optional. Our sends are the published ``campaigns/date=X/`` of the
trailing window: only what a manifest lists counts.
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import pandas as pd
import pyarrow.parquet as pq

from couponflow.platform import manifest
from couponflow.platform.lake import CAMPAIGNS, DO_NOT_CONTACT, SENDS, dated_prefix
from couponflow.platform.storage import ObjectStore

DO_NOT_CONTACT_KEY = DO_NOT_CONTACT


def do_not_contact(store: ObjectStore) -> set[int]:
    try:
        data = store.get(DO_NOT_CONTACT_KEY)
    except KeyError:
        return set()
    try:
        df = pd.read_csv(io.BytesIO(data))
        return set(int(h) for h in df["household_id"].dropna())
    except (KeyError, ValueError) as exc:
        raise ValueError(
            f"{DO_NOT_CONTACT_KEY} is not a CSV with a household_id column of integers ({exc}): fix the file"
        ) from None


def our_sends(store: ObjectStore, run_date: date, window_days: int) -> pd.DataFrame:
    """household_id, campaign_id, run_date of our published sends in [run_date - window, run_date)."""
    frames = []
    for i in range(1, window_days + 1):
        day = run_date - timedelta(days=i)
        ds = manifest.read(store, dated_prefix(CAMPAIGNS, day))
        if ds is None or ds.rows() == 0:
            continue
        t = pq.read_table(
            io.BytesIO(manifest.read_object(store, ds, SENDS)), columns=["household_id", "campaign_id"]
        ).to_pandas()
        frames.append(t.assign(run_date=pd.Timestamp(day)))
    if not frames:
        return pd.DataFrame(
            {
                "household_id": pd.Series(dtype="int64"),
                "campaign_id": pd.Series(dtype="int64"),
                "run_date": pd.Series(dtype="datetime64[us]"),
            }
        )
    return pd.concat(frames, ignore_index=True)
