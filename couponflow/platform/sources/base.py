"""The one interface every source of raw days implements.

A source is an upstream system seen through the landing contract
(``couponflow.platform.contract``): a calendar (``first_day`` .. ``last_day``), the rows of each
daily table that land on a day, and the static snapshots. Landing
(``couponflow.platform.landing.land_through``) asks for the days in date order, gates them and
publishes them; nothing else reads a source.

``answers_our_sends`` is DESIGN's honest-lift rule: True only where the redemptions a source
delivers answer *our* published sends (then lift, our actual cost and off-policy values are
measured). It is False for recorded history (the bundled Complete Journey year), for the plain
synthetic world (its campaigns go to recipients it draws itself) and for a drop zone by default:
there the report shows the capture of real redeemers and marks lift "n/a".

The closed-loop hook (not built yet). A closed-loop world is a source constructed with a
read-only ``SendsReader`` (handed to it by the flow, over ``campaigns/date=X/sends.parquet`` of
the lake) and it only moves forward: ``day(table, D + 1)`` is generated from the world's state
and our sends published for dates up to D, so it may be asked for only once D is published.
Such a source declares ``answers_our_sends = True`` and reports how far it can go through
``ready_through(published)`` (see ``ForwardSource``); landing then lands day by day instead of
in one batch. The plain synthetic world already keeps the two parts a closed loop swaps out
separate: who receives a campaign (its own draw) and how a recipient responds
(``couponflow.platform.sources.synthetic.CouponResponse``).
"""

from __future__ import annotations

from datetime import date
from typing import Protocol, runtime_checkable

import pyarrow as pa


@runtime_checkable
class Source(Protocol):
    """Raw days under the landing contract, and whether their redemptions answer our sends."""

    name: str
    answers_our_sends: bool

    # read-only: a drop zone computes them from the days present
    @property
    def first_day(self) -> date: ...
    @property
    def last_day(self) -> date: ...

    def days(self) -> list[date]:
        """Every day of the calendar, ``first_day`` .. ``last_day`` inclusive, in order."""
        ...

    def day(self, table: str, d: date) -> pa.Table:
        """The rows of daily table ``table`` that land on ``d``, with exactly the contract's schema
        (an empty table with that schema when there are none)."""
        ...

    def snapshot(self, table: str) -> pa.Table:
        """A static table (products, coupons, campaign descriptions, demographics), contract schema."""
        ...


class SendsReader(Protocol):
    """Read-only view of our published sends, as a closed-loop world will be handed it."""

    def sends(self, through: date) -> pa.Table:
        """household_id, campaign_id, arm and run_date of every send published for dates <= ``through``."""
        ...


class ForwardSource(Source, Protocol):
    """A source that generates a day only after the decision before it is published (closed loop)."""

    def ready_through(self, published: date | None) -> date:
        """The last day that may be generated, given the last published run date (None: none yet)."""
        ...


class UpstreamNotReady(RuntimeError):
    """The upstream has not finished dropping what the run needs (DESIGN exit 3: retry later);
    the message names the day and the tables it waits for."""


class DropFileChanged(RuntimeError):
    """A drop file changed after its day was landed: the lake keeps what it landed (exit 1)."""


class BadDropFile(ValueError):
    """A drop file cannot be read under the landing contract; the message names the file, the
    problem and the fix (exit 1: a data problem, nothing landed). ``key`` and ``data``: the file
    inside the drop zone and its bytes, for the quarantine."""

    def __init__(self, message: str, key: str | None = None, data: bytes | None = None) -> None:
        super().__init__(message)
        self.key, self.data = key, data


@runtime_checkable
class DropSource(Source, Protocol):
    """A source of upstream files: days complete only when the upstream says so, and files whose
    content landing records and later compares (the drop zone)."""

    def complete(self, table: str, d: date | None) -> bool:
        """Whether the upstream marked a table's day (or its snapshot, None) complete."""
        ...

    def waiting_for(self, days: list[date]) -> dict[date, list[str]]:
        """For each of ``days`` that is not complete, the tables it still waits for."""
        ...

    def drop_files(self, table: str, d: date | None) -> dict[str, str]:
        """name -> sha256 of the files of a day (``d``) or a snapshot (None) as the upstream holds them now."""
        ...


def calendar(first_day: date, last_day: date) -> list[date]:
    """``first_day`` .. ``last_day`` inclusive."""
    from datetime import timedelta

    return [first_day + timedelta(i) for i in range((last_day - first_day).days + 1)]
