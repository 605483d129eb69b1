"""GX Data Docs of a run: built without a rendering error, one page per validation, same bytes."""

from __future__ import annotations

import logging
from datetime import date

import great_expectations as gx
import pandas as pd

from expectations.docs import build_data_docs, run_name
from expectations.runtime import run_suite


def _suite() -> list:
    return [gx.expectations.ExpectColumnValuesToBeBetween(column="x", min_value=0, meta={"fix": "keep x >= 0"})]


def test_a_range_label_renders_without_an_error_and_twice_the_same(tmp_path, caplog):
    """A backfill labels its marts validation "A..B"; GX parsed that run name as a date with a
    10-day UTC offset and logged a traceback for every page (four per ordinary run)."""
    v = run_suite("docs-test.frame", _suite, pd.DataFrame({"x": [1, 2, 3]}))
    label = "2017-01-01..2017-10-29"
    record = v.record("marts", "frame", label, ["2017-01-01", "2017-10-29"])
    with caplog.at_level(logging.ERROR, logger="great_expectations"):
        pages = build_data_docs([record], tmp_path / "a", date(2017, 10, 30))
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage()[:200] for r in caplog.records]
    (page,) = pages.values()
    assert run_name(label) in page and ".." not in page
    html = (tmp_path / "a" / page).read_text()
    assert "docs-test.frame" in html and run_name(label) in html  # the title names the suite and the run
    again = build_data_docs([record], tmp_path / "b", date(2017, 10, 30))
    assert again == pages and (tmp_path / "b" / page).read_bytes() == (tmp_path / "a" / page).read_bytes()
