"""The operators' page for one run date, in four parts: ``content`` (pure: records in, a dict
out), ``plots`` (matplotlib PNGs), ``render`` (a Jinja2 template and its CSS) and ``writer`` (reads
the lake and the warehouse, builds the Data Docs, publishes ``reports/date=D/``).

It says at a glance whether the day's campaign is safe to send and, when a run stopped, which
data were wrong and what to do: the gates (raw, marts, campaign: pass / warn / fail with the
documented reason of a soft check or the fix of a hard one, linked to the GX Data Docs), the
campaign (recipients, budget used, expected redemptions and cost, control and exploration,
reach and cost by segment), our closed campaigns measured against the lake, monitoring
(``monitoring``, pure, and ``monitoring_inputs``, what it reads and its alerts: drift of the day's
candidates against the profile of that model's training data, the model's realised AUC and
calibration on closed campaigns, budget use over the last weeks), the model its campaign
manifest names, and plots.
"""

from couponflow.app.report.content import SEGMENTS
from couponflow.app.report.writer import publish_gate_record, write_report
from couponflow.platform.lake import DATA_DOCS as DOCS
from couponflow.platform.lake import REPORT_DATA as DATA
from couponflow.platform.lake import REPORT_PAGE as INDEX

__all__ = ["DATA", "DOCS", "INDEX", "SEGMENTS", "publish_gate_record", "write_report"]
