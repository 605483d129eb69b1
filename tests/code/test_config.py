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


def test_a_time_zone_is_an_iana_name(monkeypatch):
    monkeypatch.setenv("COUPONFLOW_TIMEZONE", "Europe/Berlin")
    assert load_settings().timezone == "Europe/Berlin"


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
        ("COUPONFLOW_TIMEZONE", "Mars/Olympus"),
        ("COUPONFLOW_TIMEZONE", "../etc"),
    ],
)
def test_bad_value_names_the_variable(monkeypatch, var, value):
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError) as exc:
        load_settings()
    assert var in str(exc.value) and "Fix" in str(exc.value)
    assert "\n" not in str(exc.value)  # one line: the CLI prints it as it is


@pytest.mark.parametrize("endpoint", ["127.0.0.1:8333", "s3.example.com", "ftp://127.0.0.1:8333", "http://"])
def test_an_endpoint_without_its_scheme_is_refused_in_one_line(monkeypatch, endpoint):
    """The defect: boto3 took "127.0.0.1:8333" and failed deep inside with 51 lines of traceback."""
    monkeypatch.setenv("COUPONFLOW_STORAGE", "s3")
    monkeypatch.setenv("COUPONFLOW_S3_BUCKET", "b")
    monkeypatch.setenv("COUPONFLOW_S3_ENDPOINT_URL", endpoint)
    with pytest.raises(SettingsError, match="COUPONFLOW_S3_ENDPOINT_URL: must be a URL with its scheme") as exc:
        load_settings()
    assert "http://127.0.0.1:8333" in str(exc.value) and "\n" not in str(exc.value)


def test_a_secret_is_not_shown_when_another_setting_is_wrong(monkeypatch):
    monkeypatch.setenv("COUPONFLOW_S3_SECRET_ACCESS_KEY", "hunter2-very-secret")
    monkeypatch.setenv("COUPONFLOW_S3_ACCESS_KEY_ID", "AKIA-very-secret-id")
    monkeypatch.setenv("COUPONFLOW_STORAGE", "s3")  # and no bucket
    with pytest.raises(SettingsError, match="COUPONFLOW_S3_BUCKET") as exc:
        load_settings()
    assert "hunter2" not in str(exc.value) and "AKIA" not in str(exc.value)


def test_an_s3_key_without_its_secret_is_refused(monkeypatch):
    """boto3 refuses half a pair of keys when the store is opened, with a traceback."""
    monkeypatch.setenv("COUPONFLOW_S3_ACCESS_KEY_ID", "key-id")
    with pytest.raises(SettingsError, match="COUPONFLOW_S3_SECRET_ACCESS_KEY go together"):
        load_settings()


def test_s3_without_bucket_names_the_variable(monkeypatch):
    monkeypatch.setenv("COUPONFLOW_STORAGE", "s3")
    with pytest.raises(SettingsError, match="COUPONFLOW_S3_BUCKET"):
        load_settings()


def test_secrets_are_never_printed(monkeypatch):
    monkeypatch.setenv("COUPONFLOW_STORAGE", "s3")
    monkeypatch.setenv("COUPONFLOW_S3_BUCKET", "b")
    monkeypatch.setenv("COUPONFLOW_S3_SECRET_ACCESS_KEY", "hunter2-very-secret")
    monkeypatch.setenv("COUPONFLOW_S3_ACCESS_KEY_ID", "key-id")  # the two go together
    s = load_settings()
    assert "hunter2" not in repr(s) and "hunter2" not in str(s.model_dump())
    assert s.s3_secret_access_key.get_secret_value() == "hunter2-very-secret"


def test_drift_thresholds_are_positive_and_warn_is_below_alert(monkeypatch):
    s = load_settings()
    assert (s.drift_psi_warn, s.drift_psi_alert) == (0.1, 0.25)
    monkeypatch.setenv("COUPONFLOW_DRIFT_PSI_ALERT", "0")
    with pytest.raises(SettingsError, match="COUPONFLOW_DRIFT_PSI_ALERT"):
        load_settings()
    monkeypatch.setenv("COUPONFLOW_DRIFT_PSI_ALERT", "0.2")
    monkeypatch.setenv("COUPONFLOW_DRIFT_PSI_WARN", "0.2")
    with pytest.raises(SettingsError, match="must be below COUPONFLOW_DRIFT_PSI_ALERT"):
        load_settings()
    monkeypatch.setenv("COUPONFLOW_DRIFT_PSI_WARN", "0.05")
    assert load_settings().drift_psi_warn == 0.05
