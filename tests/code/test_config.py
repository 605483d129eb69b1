"""Settings: defaults for the embedded mode, errors that name the variable, secrets kept secret."""

from __future__ import annotations

import pytest

from couponflow.platform.config import SettingsError, load_settings


def test_defaults_need_no_setup(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COUPONFLOW_HOME")
    s = load_settings()
    assert s.storage == "local"
    assert s.home_dir == (tmp_path / ".couponflow").resolve()
    for path in (s.lake_dir, s.warehouse_path, s.prefect_home, s.dbt_target_dir):
        assert path.is_absolute() and path.is_relative_to(s.home_dir)


def test_env_prefix_is_read(monkeypatch, tmp_path):
    monkeypatch.setenv("COUPONFLOW_HOME", str(tmp_path / "h"))
    monkeypatch.setenv("COUPONFLOW_BUDGET_PER_DAY", "99.5")
    s = load_settings()
    assert s.budget_per_day == 99.5 and s.home_dir == (tmp_path / "h").resolve()


@pytest.mark.parametrize(
    "var,value",
    [
        ("COUPONFLOW_BUDGET_PER_DAY", "lots"),
        ("COUPONFLOW_BUDGET_PER_DAY", "-1"),
        ("COUPONFLOW_STORAGE", "ftp"),
        ("COUPONFLOW_CONTROL_SHARE", "1.5"),
    ],
)
def test_bad_value_names_the_variable(monkeypatch, var, value):
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError) as exc:
        load_settings()
    assert var in str(exc.value) and "Fix" in str(exc.value)


def test_s3_without_bucket_names_the_variable(monkeypatch):
    monkeypatch.setenv("COUPONFLOW_STORAGE", "s3")
    with pytest.raises(SettingsError, match="COUPONFLOW_S3_BUCKET"):
        load_settings()


def test_secrets_are_never_printed(monkeypatch):
    monkeypatch.setenv("COUPONFLOW_STORAGE", "s3")
    monkeypatch.setenv("COUPONFLOW_S3_BUCKET", "b")
    monkeypatch.setenv("COUPONFLOW_S3_SECRET_ACCESS_KEY", "hunter2-very-secret")
    s = load_settings()
    assert "hunter2" not in repr(s) and "hunter2" not in str(s.model_dump())
    assert s.s3_secret_access_key.get_secret_value() == "hunter2-very-secret"
