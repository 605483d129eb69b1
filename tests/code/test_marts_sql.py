"""Rules of the dbt project read from its files (no warehouse, no dbt run): the point-in-time cut
and the feature windows are written only in macros/point_in_time.sql, every model that uses them
has dbt unit tests, every staging or marts table the Python code reads has an enforced contract,
and every incremental model fails on a schema change."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DBT = ROOT / "dbt_project"
PYTHON_DIRS = ("couponflow", "models", "expectations", "flows")

# a row's date compared with an as-of date or a campaign start, written inline instead of before_as_of
INLINE_CUT = re.compile(
    r"\b\w*_date\s*(<|<=|>|>=)\s*\w+\.(as_of_date|start_date)\b"
    r"|\b\w+\.(as_of_date|start_date)\s*(<|<=|>|>=)\s*\w*_date\b"
)
# a window's edge written inline instead of within_days
INLINE_WINDOW = re.compile(r"\bage_days\s*(<|<=)\s*\d+")
MACRO_USE = re.compile(r"\{\{\s*(before_as_of|within_days|days_before)\(")


def _sql(path: Path) -> str:
    """The model's SQL without its comments."""
    return re.sub(r"--[^\n]*", "", path.read_text())


def _models() -> dict[str, Path]:
    return {p.stem: p for p in (DBT / "models").rglob("*.sql")}


def _properties(name: str) -> dict:
    path = _models()[name].with_suffix(".yml")
    doc = yaml.safe_load(path.read_text())
    model = next(m for m in doc["models"] if m["name"] == name)
    return {"model": model, "unit_tests": [u for u in doc.get("unit_tests") or [] if u["model"] == name]}


def _read_by_python() -> set[str]:
    """Models the Python code queries as staging.<model> or marts.<model>."""
    found = set()
    for folder in PYTHON_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            found |= {m.group(2) for m in re.finditer(r"\b(staging|marts)\.(\w+)", path.read_text())}
    return found & set(_models())


def inline_cuts(models: dict[str, Path]) -> list[str]:
    out = []
    for name, path in sorted(models.items()):
        for i, line in enumerate(_sql(path).split("\n"), 1):
            if INLINE_CUT.search(line) or INLINE_WINDOW.search(line):
                out.append(f"{name}:{i}: {line.strip()}")
    return out


def test_no_model_writes_the_point_in_time_cut_inline():
    assert inline_cuts(_models()) == []


def test_the_rule_finds_an_inline_cut():
    text = "join t on t.transaction_date <= d.as_of_date\nwhere age_days < 90\nand p.end_date < c.start_date"
    assert [bool(INLINE_CUT.search(x) or INLINE_WINDOW.search(x)) for x in text.split("\n")] == [True, True, True]
    assert not INLINE_CUT.search("d.as_of_date <= d.last_landed as sends_landed")  # landed, not a cut


@pytest.mark.parametrize("name", ["household_features", "offer_features", "campaigns"])
def test_the_feature_models_cut_through_the_macro_and_have_unit_tests(name):
    assert MACRO_USE.search(_sql(_models()[name]))
    assert _properties(name)["unit_tests"], f"{name} uses the point-in-time macros but has no unit test"


def test_every_model_using_the_macros_has_unit_tests():
    users = [n for n, p in _models().items() if MACRO_USE.search(_sql(p))]
    assert users and [n for n in users if not _properties(n)["unit_tests"]] == []


def test_incremental_unit_tests_fix_is_incremental():
    for name, path in _models().items():
        if "materialized='incremental'" in path.read_text():
            for unit in _properties(name)["unit_tests"]:
                assert "is_incremental" in (unit.get("overrides") or {}).get("macros", {}), unit["name"]


def test_every_table_the_python_code_reads_has_an_enforced_contract():
    read = _read_by_python()
    assert {
        "scoring_candidates",
        "campaigns",
        "training_examples",
        "campaign_outcomes",
        "households",
        "household_features",
        "baskets",
        "stg_campaigns",
        "stg_coupon_redemptions",
    } <= read
    for name in sorted(read | {"offer_features"}):
        model = _properties(name)["model"]
        assert (model.get("config") or {}).get("contract", {}).get("enforced") is True, f"{name}: no contract"
        untyped = [c["name"] for c in model["columns"] if not c.get("data_type")]
        assert untyped == [], f"{name}: columns without data_type {untyped}"


def test_incremental_models_fail_on_a_schema_change():
    incremental = [n for n, p in _models().items() if "materialized='incremental'" in p.read_text()]
    assert sorted(incremental) == [
        "baskets",
        "household_category_days",
        "household_features",
        "int_household_days",
        "int_household_firsts",
        "offer_features",
        "stg_transactions",
    ]
    for name in incremental:
        assert "on_schema_change='fail'" in _models()[name].read_text(), name
