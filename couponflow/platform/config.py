"""The one configuration object of couponflow.

Every setting comes from an environment variable with the prefix ``COUPONFLOW_`` (or a ``.env``
file in the working directory); the defaults make the embedded mode work with no set-up. Every
path is derived from the home folder and made absolute. Secrets (S3 keys) are ``SecretStr``:
they are read from the environment only and never printed.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "COUPONFLOW_"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable and the fix."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", frozen=True)

    # -- where things live -------------------------------------------------------------------
    home: Path = Field(Path(".couponflow"), description="Home folder; every path derives from it")
    storage: Literal["local", "s3"] = Field("local", description="Object store backend")
    s3_endpoint_url: str | None = Field(None, description="S3-compatible endpoint, e.g. http://127.0.0.1:8333")
    s3_bucket: str | None = Field(None, description="Bucket that holds the lake (storage=s3)")
    s3_prefix: str = Field("couponflow", description="Key prefix inside the bucket")
    s3_region: str = "us-east-1"
    s3_access_key_id: SecretStr | None = Field(None, description="S3 key id (else boto3's own chain)")
    s3_secret_access_key: SecretStr | None = None

    dbt_node_tasks: bool = Field(
        True,
        description="Inside a flow, run dbt through prefect-dbt's PrefectDbtRunner: every model and test a "
        "Prefect task with its own state and log (a build takes about 3x as long: benchmarks/dbt_runner.py); "
        "false: dbt's own dbtRunner, the flow's log only",
    )

    lock_wait_s: float = Field(
        10.0,
        ge=0,
        description="Seconds a command waits for the home's lock (another run holds it) before it is refused "
        "with exit 4: long enough for a short command (a rollback) to finish, short enough not to stall a "
        "terminal or a scheduler's slot behind a whole daily run (a scheduler retries exit 4)",
    )

    # -- the warehouse's resources (DuckDB, for dbt's builds and every query) -----------------
    duckdb_memory_limit: str | None = Field(
        None,
        pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="DuckDB's memory limit, e.g. 4GB (default: DuckDB's own, 80% of the RAM); past it a build "
        "spills to COUPONFLOW_DUCKDB_TEMP_DIR instead of dying",
    )
    duckdb_threads: int = Field(
        1,
        ge=1,
        description="DuckDB threads per query; 1 keeps sums of floats in one order (the same bytes on every "
        "build: DESIGN), more builds faster with last-bit differences in float features",
    )
    duckdb_temp_dir: Path | None = Field(None, description="Where DuckDB spills (default: HOME/duckdb-tmp)")
    land_batch_days: int = Field(
        7,
        ge=1,
        le=366,
        description="Days a catch-up lands per batch (read, gated, published before the next is read): the "
        "landing's memory grows with the batch, not the catch-up; the lake's bytes are the same for any size",
    )

    # -- the data source ---------------------------------------------------------------------
    source: Literal["completejourney", "synthetic", "dropzone"] = Field(
        "completejourney",
        description="Where raw days come from: the bundled Complete Journey year, a synthetic world, or a drop "
        "zone of upstream files (COUPONFLOW_DROPZONE_URL)",
    )
    synth_households: int = Field(2_000, ge=1, description="Households of the synthetic world (source=synthetic)")
    synth_seed: int = Field(0, description="Seed of the synthetic world: the same seed, the same bytes")
    # the drop zone (source=dropzone): its own endpoint and keys, like the lake's, never printed
    dropzone_url: str | None = Field(
        None, description="Where the upstream drops its files: a local directory, or s3://bucket/prefix"
    )
    dropzone_answers_our_sends: bool = Field(
        False,
        description="True only when the retailer delivered our published sends and the dropped redemptions answer "
        "them (DESIGN, honest lift); false: lift and our actual cost are n/a",
    )
    dropzone_endpoint_url: str | None = Field(None, description="S3 endpoint of an s3:// drop zone (else AWS)")
    dropzone_region: str = "us-east-1"
    dropzone_access_key_id: SecretStr | None = Field(None, description="Drop zone's S3 key id (else boto3's chain)")
    dropzone_secret_access_key: SecretStr | None = None

    # -- alerts -------------------------------------------------------------------------------
    alert_url: SecretStr | None = Field(
        None,
        description="apprise URL notified of a failed run, a stopped gate or a monitor past its threshold "
        "(e.g. json://host:port/path); it may carry a token, so it is a secret and never printed",
    )

    # -- the decision ------------------------------------------------------------------------
    budget_per_day: float = Field(250.0, gt=0, description="Money per run date, shared by its campaigns")
    contact_cost: float = Field(0.10, ge=0, description="Cost of one contact, added to expected discount")
    default_discount: float = Field(2.0, gt=0, description="Expected discount per redemption with no history")
    max_campaigns_per_household_per_day: int = Field(1, ge=1)
    active_window_days: int = Field(60, ge=1, description="Eligible only if a purchase in this window")
    control_share: float = Field(0.05, ge=0, lt=1, description="Share of households in the long-lived control group")
    control_salt: str = Field("couponflow-control-v1", min_length=1)
    prior_strength: float = Field(5.0, gt=0, description="Pseudo-campaigns of the v0 rule's smoothing prior")
    max_sends_in_window: int = Field(3, ge=1, description="Contact cap: our sends per household in the window")
    contact_window_days: int = Field(28, ge=1, description="Trailing window of the contact cap")
    replay_share: float = Field(
        0.2, gt=0, le=1, description="Replay: share of a campaign's real recipients we may reach"
    )
    explore_share: float = Field(
        0.10, ge=0, lt=1, description="Share of each campaign's sends (without exploration) explored at random"
    )
    holdout_share: float = Field(
        0.10, ge=0, lt=1, description="Share of the selected held back as the campaign's control"
    )
    policy_salt: str = Field("couponflow-policy-v1", min_length=1, description="Seeds the policy's draws per run date")

    # -- the model and its promotion ---------------------------------------------------------
    model_family: Literal["logistic", "mlp", "wide_deep", "blend"] = Field("mlp", description="Challenger family")
    use_demographics: bool = Field(False, description="May the model use age, income, kids ...?")
    train_seed: int = 0
    min_holdout_positives: int = Field(100, ge=1, description="Redeemers the promotion hold-out must hold")
    promotion_min_gain: float = Field(0.01, ge=0, description="Within-campaign AUC gain a challenger needs")
    promotion_level: float = Field(0.90, gt=0, lt=1, description="Bootstrap interval level of the gain")
    train_cron: str = Field("0 4 * * 1", description="Schedule of the train deployment (cron)")
    daily_cron: str = Field("0 6 * * *", description="Schedule of the daily deployment (cron)")
    timezone: str = Field("UTC", description="Time zone of the schedules (an IANA name, e.g. Europe/Berlin)")

    # -- monitoring ---------------------------------------------------------------------------
    drift_psi_warn: float = Field(
        0.1,
        gt=0,
        description="PSI of a feature or the score (today's candidates vs the champion's profile) shown as warn",
    )
    drift_psi_alert: float = Field(
        0.25,
        gt=0,
        description="PSI from which a feature or the score is an alert (the report, and COUPONFLOW_ALERT_URL)",
    )

    @field_validator("timezone")
    @classmethod
    def _a_known_time_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone name, e.g. UTC or Europe/Berlin") from None
        return value

    @field_validator("s3_endpoint_url", "dropzone_endpoint_url")
    @classmethod
    def _endpoint_is_a_url(cls, value: str | None) -> str | None:
        """boto3 takes "127.0.0.1:8333" for a URL and fails deep inside with a traceback."""
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                "must be a URL with its scheme and host, e.g. http://127.0.0.1:8333 or https://s3.example.com"
            )
        return value

    @model_validator(mode="after")
    def _drift_warn_below_alert(self) -> Settings:
        if self.drift_psi_warn >= self.drift_psi_alert:
            raise ValueError(
                f"COUPONFLOW_DRIFT_PSI_WARN ({self.drift_psi_warn}) must be below COUPONFLOW_DRIFT_PSI_ALERT "
                f"({self.drift_psi_alert})"
            )
        return self

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> Settings:
        if self.storage == "s3" and not self.s3_bucket:
            raise ValueError(
                "COUPONFLOW_S3_BUCKET is required when COUPONFLOW_STORAGE=s3; set it to the bucket that holds the lake"
            )
        if (self.s3_access_key_id is None) != (self.s3_secret_access_key is None):
            raise ValueError(
                "COUPONFLOW_S3_ACCESS_KEY_ID and COUPONFLOW_S3_SECRET_ACCESS_KEY go together: set both, or neither "
                "(boto3's own chain)"
            )
        return self

    @field_validator("dropzone_url")
    @classmethod
    def _dropzone_is_a_directory_or_s3(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme == "s3" and parts.netloc:
            return value
        if parts.scheme in ("", "file") and (parts.path or value):
            return value
        raise ValueError("must be a local directory or s3://bucket/prefix, e.g. /data/drop or s3://upstream/couponflow")

    @model_validator(mode="after")
    def _dropzone_settings_go_together(self) -> Settings:
        if self.source == "dropzone" and not self.dropzone_url:
            raise ValueError(
                "COUPONFLOW_DROPZONE_URL is required when COUPONFLOW_SOURCE=dropzone; set it to the directory or "
                "s3://bucket/prefix where the upstream drops its files"
            )
        if (self.dropzone_access_key_id is None) != (self.dropzone_secret_access_key is None):
            raise ValueError(
                "COUPONFLOW_DROPZONE_ACCESS_KEY_ID and COUPONFLOW_DROPZONE_SECRET_ACCESS_KEY go together: set both, "
                "or neither (boto3's own chain)"
            )
        return self

    # -- derived paths (all absolute) --------------------------------------------------------
    @cached_property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def lake_dir(self) -> Path:
        """Root of the local object store (storage=local)."""
        return self.home_dir / "lake"

    @property
    def lake_cache_dir(self) -> Path:
        """Local copies of S3 objects that the warehouse reads (storage=s3)."""
        return self.home_dir / "lake-cache"

    @property
    def warehouse_path(self) -> Path:
        return self.home_dir / "warehouse.duckdb"

    @property
    def prefect_home(self) -> Path:
        return self.home_dir / "prefect"

    @property
    def dbt_target_dir(self) -> Path:
        return self.home_dir / "dbt" / "target"

    @property
    def dbt_log_dir(self) -> Path:
        return self.home_dir / "dbt" / "logs"

    @property
    def duckdb_spill_dir(self) -> Path:
        return (self.duckdb_temp_dir or self.home_dir / "duckdb-tmp").expanduser().resolve()

    @property
    def work_dir(self) -> Path:
        """Scratch space (GX data docs before upload, temporary files)."""
        return self.home_dir / "work"


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning pydantic's errors into one line that names every bad variable
    (a secret's value is never shown)."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            var = f"{ENV_PREFIX}{field.upper()}" if field else "settings"
            value = err.get("input")
            secret = field in _SECRET_FIELDS or "secret" in field or isinstance(value, dict)
            shown = "" if secret else f" (got {value!r})"
            problems.append(f"{var}: {err['msg'].removeprefix('Value error, ')}{shown}")
        raise SettingsError(
            "invalid couponflow settings: "
            + "; ".join(problems)
            + ". Fix the environment variable (or the .env file) and run again."
        ) from None


_SECRET_FIELDS = frozenset(name for name, f in Settings.model_fields.items() if "SecretStr" in str(f.annotation))


def offline_environment(settings: Settings) -> dict[str, str]:
    """Environment that keeps dbt and Prefect offline and inside the home folder."""
    return {
        "PREFECT_HOME": str(settings.prefect_home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": os.environ.get(
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90"
        ),
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "GX_ANALYTICS_ENABLED": "false",
    }
