"""COUPONFLOW_DUCKDB_MEMORY_LIMIT, _THREADS and _TEMP_DIR reach DuckDB: every connection of
couponflow's and dbt's own (profiles.yml), so that a big build spills to disk instead of dying."""

from __future__ import annotations

import pytest

from couponflow.platform.config import SettingsError, load_settings
from couponflow.platform.warehouse import connect, duckdb_config, run_dbt

SHOW = (
    "select current_setting('memory_limit') as memory_limit, current_setting('threads') as threads, "
    "current_setting('temp_directory') as temp_directory"
)


def test_the_settings_reach_couponflows_connections_and_dbts(tmp_path, monkeypatch):
    spill = tmp_path / "spill"
    monkeypatch.setenv("COUPONFLOW_DUCKDB_MEMORY_LIMIT", "1500MiB")
    monkeypatch.setenv("COUPONFLOW_DUCKDB_THREADS", "2")
    monkeypatch.setenv("COUPONFLOW_DUCKDB_TEMP_DIR", str(spill))
    settings = load_settings(home=tmp_path / "home")
    with connect(settings) as con:
        assert con.sql(SHOW).fetchone() == ("1.4 GiB", 2, str(spill))
    (row,) = run_dbt(settings, "show", "--inline", SHOW).shown
    assert (row["memory_limit"], int(row["threads"]), row["temp_directory"]) == ("1.4 GiB", 2, str(spill))


def test_the_defaults_are_one_thread_duckdbs_memory_and_a_spill_folder_in_the_home(tmp_path):
    settings = load_settings(home=tmp_path / "home")
    config = duckdb_config(settings)
    assert config["threads"] == "1" and config["temp_directory"] == str(tmp_path / "home" / "duckdb-tmp")
    with connect(settings) as con:  # DuckDB's own default: 80% of the RAM
        assert con.sql("select current_setting('memory_limit')").fetchone()[0] == _duckdb_default()


def _duckdb_default() -> str:
    import duckdb

    con = duckdb.connect()
    try:
        return con.sql("select current_setting('memory_limit')").fetchone()[0]
    finally:
        con.close()


@pytest.mark.parametrize(("var", "value"), [("MEMORY_LIMIT", "4 gigs"), ("MEMORY_LIMIT", "80%"), ("THREADS", "0")])
def test_a_bad_value_is_one_line_naming_the_variable(tmp_path, monkeypatch, var, value):
    monkeypatch.setenv(f"COUPONFLOW_DUCKDB_{var}", value)
    with pytest.raises(SettingsError, match=f"COUPONFLOW_DUCKDB_{var}"):
        load_settings(home=tmp_path)


def test_a_query_that_spilled_does_not_break_the_next_ones(tmp_path, monkeypatch):
    """DuckDB refuses to SET temp_directory once a query has spilled there, even to the same
    folder: with the folder SET on every dbt cursor, every node after a build's first spill
    failed. Under a small limit a query spills; later dbt commands and a connection of ours in the
    same process still run, and spill to the home's folder."""
    monkeypatch.setenv("COUPONFLOW_DUCKDB_MEMORY_LIMIT", "100MB")
    settings = load_settings(home=tmp_path / "home")
    spill = "select count(*) as n from (select md5(range::varchar) as b from range(3000000) order by b)"
    assert run_dbt(settings, "show", "--inline", spill).shown == [{"n": 3_000_000}]
    (row,) = run_dbt(settings, "show", "--inline", SHOW).shown
    assert row["temp_directory"] == str(settings.duckdb_spill_dir)
    with connect(settings) as con:
        assert con.execute(spill).fetchone() == (3_000_000,)
        assert con.sql(SHOW).fetchone()[2] == str(settings.duckdb_spill_dir)
    assert run_dbt(settings, "show", "--inline", spill).shown == [{"n": 3_000_000}]
