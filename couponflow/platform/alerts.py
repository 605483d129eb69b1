"""Alerts: one notification through apprise to ``COUPONFLOW_ALERT_URL`` when someone is needed.

Three things alert: a failed run and a stopped gate (both through the flows' ``on_failure`` hook,
``flows/alerts.py``: a stopped gate fails its run with ``GateFailed``), and a monitor past its
threshold (``monitor_breached``, for the monitoring step to call). An alert says, in its title and
a few lines of body, the flow, the run date, what failed, the one-line fix and where the report
and the run record are; never a secret.

The rules every alert keeps:

* no ``COUPONFLOW_ALERT_URL``: nothing is sent and nothing is said;
* an alert never changes a run's outcome: ``send`` never raises, and a notification that cannot
  be delivered (an unreachable receiver, a malformed URL, apprise itself failing) is one warning
  line that names the alert, never the URL (it may carry a token);
* no secret in the text: the values of the settings' secrets (the S3 keys, the alert URL and its
  parts) are replaced by ``***`` before anything is sent, whatever an error message quoted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from couponflow.platform.config import Settings

log = logging.getLogger(__name__)

REDACTED = "***"
_MIN_SECRET = 6  # a shorter value is no secret worth redacting (and would mangle the text)
_MIN_TOKEN = 12  # a path segment of the alert URL this long is taken for a token ("alerts" is not)


@dataclass(frozen=True)
class Alert:
    """One notification: a title and the lines of its body, in the order an operator reads them."""

    title: str
    what: str  # what failed, one line
    fix: str  # what to do about it, one line
    flow: str | None = None
    run_date: str | None = None
    stage: str | None = None  # the stage of the run that failed (flows/recording.py's names)
    links: dict[str, str] = field(default_factory=dict)  # e.g. {"report": path, "run record": path}

    def body(self) -> str:
        lines = []
        if self.flow:
            lines.append(f"flow: {self.flow}")
        if self.run_date:
            lines.append(f"run date: {self.run_date}")
        if self.stage:
            lines.append(f"failed stage: {self.stage}")
        lines.append(f"what failed: {self.what}")
        lines.append(f"fix: {self.fix}")
        lines.extend(f"{name}: {where}" for name, where in self.links.items())
        return "\n".join(lines)


def secret_values(settings: Settings) -> list[str]:
    """Every secret value the settings hold, longest first: the S3 keys, and the alert URL with
    the parts of it a token may sit in (user, password, query values, long path segments)."""
    values = [s.get_secret_value() for s in (settings.s3_secret_access_key, settings.s3_access_key_id) if s]
    if settings.alert_url is not None:
        url = settings.alert_url.get_secret_value()
        values.append(url)
        try:
            parts = urlsplit(url)
            values += [unquote(parts.username or ""), unquote(parts.password or ""), parts.query]
            values += [v for _, v in parse_qsl(parts.query)]
            values += [segment for segment in parts.path.split("/") if len(segment) >= _MIN_TOKEN]
            values += [unquote(segment) for segment in parts.path.split("/") if len(segment) >= _MIN_TOKEN]
        except ValueError:  # a malformed URL: its whole value is still redacted
            pass
    found = {v for v in values if len(v) >= _MIN_SECRET}
    return sorted(found, key=len, reverse=True)


def redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


@contextmanager
def _apprise_silenced() -> Iterator[None]:
    """apprise logs its own lines (at debug level the full URL); ours is the one warning."""
    logger = logging.getLogger("apprise")
    was = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = was


def send(settings: Settings, alert: Alert, warn: Callable[[str], None] | None = None) -> bool:
    """Notify ``COUPONFLOW_ALERT_URL`` of ``alert``; True when it was delivered. Never raises: a
    failure to deliver is one warning line through ``warn`` (default: this module's logger)."""
    if settings.alert_url is None:
        return False
    warn = warn or log.warning
    secrets = secret_values(settings)
    title, body = redact(alert.title, secrets), redact(alert.body(), secrets)
    try:
        import apprise

        with _apprise_silenced():
            notifier = apprise.Apprise()
            if not notifier.add(settings.alert_url.get_secret_value()):
                reason = "COUPONFLOW_ALERT_URL is not a URL apprise knows (e.g. json://host:port/path)"
            elif notifier.notify(body=body, title=title, notify_type=apprise.NotifyType.FAILURE):
                return True
            else:
                reason = "the receiver at COUPONFLOW_ALERT_URL did not take it (unreachable or refused)"
    except Exception as exc:  # noqa: BLE001 - an alert must never turn a run into a failure
        reason = redact(f"apprise failed: {type(exc).__name__}: {exc}", secrets)
    try:
        warn(f"couponflow: alert {title!r} not delivered: {reason}")
    except Exception:  # noqa: BLE001 - a broken logger must not break the run either
        log.warning("couponflow: alert %r not delivered: %s", title, reason)
    return False


def monitor_breached(
    settings: Settings,
    *,
    monitor: str,
    value: float,
    threshold: float,
    run_date: str | None = None,
    fix: str = "",
    report: str | None = None,
    warn: Callable[[str], None] | None = None,
) -> bool:
    """Alert that a monitor is past its threshold (for the monitoring step: call it once per
    monitor and run when ``value`` has crossed ``threshold``; the monitor decides the direction).

    ``monitor`` names it as the report does (e.g. "PSI of feature spend_90d", "realised AUC of the
    champion"), ``fix`` is the one-line action for the operator, ``report`` where the report that
    shows the monitor is (a path or URL). Returns whether the alert was delivered; never raises
    (see ``send``), and with no ``COUPONFLOW_ALERT_URL`` it sends nothing."""
    alert = Alert(
        title=f"couponflow monitor past its threshold: {monitor}" + (f" ({run_date})" if run_date else ""),
        what=f"{monitor} is {value:.4g}, past its threshold {threshold:.4g}",
        fix=fix or "read the monitor on the report; retrain (couponflow train) or investigate the inputs",
        run_date=run_date,
        links={"report": report} if report else {},
    )
    return send(settings, alert, warn)
