"""One interval type for every estimate the models report: a point value and the ends of its interval.

The bootstrap differences of the model metrics (``models.evaluation``) and the lift and
off-policy measurements of closed campaigns (``models.measurement``) both return it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float

    def negated(self) -> Interval:
        """The interval of ``-x``: the ends swap."""
        return Interval(-self.value, -self.high, -self.low)


NAN_INTERVAL = Interval(float("nan"), float("nan"), float("nan"))
