"""Erased households: the record that ``couponflow forget`` keeps, read by landing.

``erasures/<timestamp>-<hash>.json`` records one request; ``erasures/salt.json`` holds the lake's
salt. A record names its household only as ``sha256(salt + household_id)``, never in clear: the
lake's erasure log is read by anyone who reads the lake, and it must not become the one place
that still lists the people who asked to be forgotten. It is pseudonymous, not anonymous:
household ids are small integers, so whoever can read the salt can test ids one by one; the salt
lives beside the records so that every home landing into this lake can filter, and erasures/
deserves the access control of raw/. A random salt per lake keeps the hashes from being joined
with another system's.

Landing (``drop_erased``) filters the rows of erased households out of every day it lands, so a
forgotten household does not come back from the source.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from couponflow.platform.lake import ERASURES
from couponflow.platform.storage import ObjectStore

SALT_KEY = f"{ERASURES}/salt.json"
HOUSEHOLD = "household_id"


def household_hash(salt: str, household_id: int) -> str:
    return hashlib.sha256(f"{salt}{int(household_id)}".encode()).hexdigest()


def load_salt(store: ObjectStore) -> str | None:
    try:
        return str(json.loads(store.get(SALT_KEY))["salt"])
    except KeyError:
        return None


def new_salt() -> str:
    return secrets.token_hex(16)


def record_keys(store: ObjectStore) -> list[str]:
    return [k for k in store.list(f"{ERASURES}/") if k.endswith(".json") and k != SALT_KEY]


def erased_hashes(store: ObjectStore) -> set[str]:
    """The hashed ids of every household an erasure request names (done or in progress)."""
    return {json.loads(store.get(k))["household_sha256"] for k in record_keys(store)}


def drop_rows(table: pa.Table, salt: str, hashes: set[str]) -> pa.Table:
    """``table`` without the rows of the households whose hash is in ``hashes``."""
    if not hashes or HOUSEHOLD not in table.column_names or table.num_rows == 0:
        return table
    ids = pc.unique(table[HOUSEHOLD].drop_null()).to_pylist()
    gone = [h for h in ids if household_hash(salt, h) in hashes]
    if not gone:
        return table
    keep = pc.invert(
        pc.fill_null(pc.is_in(table[HOUSEHOLD], pa.array(gone, table.schema.field(HOUSEHOLD).type)), False)
    )
    return table.filter(keep)


def drop_erased(store: ObjectStore) -> Callable[[pa.Table], pa.Table]:
    """A filter that drops erased households from a table about to be landed (identity if none)."""
    keys = record_keys(store)
    salt = load_salt(store)
    if not keys or salt is None:
        return lambda table: table
    hashes = erased_hashes(store)
    return lambda table: drop_rows(table, salt, hashes)
