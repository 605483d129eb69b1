"""The report's HTML: a Jinja2 template (``report.html.j2``) with its CSS in ``report.css``.

Formatting lives here as small functions the template calls; escaping is ``html.escape`` (the
template escapes explicitly with ``esc``), so the page is byte-identical for the same content.
"""

from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

HERE = Path(__file__).resolve().parent


def fmt(v: Any, digits: int = 2) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def link(href: str | None, text: str = "data docs") -> str:
    return f"<a href='{html.escape(href)}'>{text}</a>" if href else ""


def interval(est: dict[str, float] | None, note: str, digits: int = 2) -> str:
    if not est:
        return f"<span title='{html.escape(note)}'>n/a</span>"
    return f"{est['value']:+.{digits}f} [{est['low']:+.{digits}f}, {est['high']:+.{digits}f}]"


def model_value(value: Any) -> str:
    """One entry of the model card: a dict as ``k = v`` pairs, anything else formatted."""
    e = html.escape
    if isinstance(value, dict):
        return ", ".join(f"{e(str(k))} = {e(fmt(v, 4))}" for k, v in sorted(value.items())) or "none yet"
    return e(fmt(value, 4))


def oneline(text: str) -> str:
    """Join a block's lines, each stripped: the template stays readable, the page keeps one line
    per section."""
    return "".join(line.strip() for line in text.splitlines())


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE)),
        autoescape=False,
        trim_blocks=False,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(esc=html.escape, f=format, oneline=oneline)
    env.globals.update(fmt=fmt, pct=pct, link=link, interval=interval, model_value=model_value)
    return env.get_template("report.html.j2")


def render_html(report: dict[str, Any], images: dict[str, str]) -> str:
    verdict = report["verdict"]
    verdict_cls = (
        "v-bad"
        if report["failure"] or verdict.startswith("do not")
        else "v-ok"
        if verdict.startswith(("safe", "nothing"))
        else "v-none"
    )
    status_cls = {"pass": "pass", "warn": "warn", "fail": "fail", "not run": "notrun"}
    return _template().render(
        r=report,
        images=images,
        css=(HERE / "report.css").read_text(),
        verdict_cls=verdict_cls,
        status_cls=status_cls,
        drift_cls={"ok": "pass", "warn": "warn", "alert": "fail", "absent": "notrun", "offer": "notrun"},
    )
