"""The landing contract: which raw tables exist, their columns, keys and partitioning.

Every source (the Complete Journey replay, the synthetic generator, a production S3 drop) lands
files that follow this contract, and the raw gate checks it. Daily tables land one partition
per day under ``raw/<table>/date=D/``; static tables land one snapshot under
``raw/<table>/snapshot/``. Raw data keeps the source's values: cleaning is dbt's job.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

ID = pa.int64()
MONEY = pa.float64()
TS = pa.timestamp("us")
TEXT = pa.string()

RAW_CONTRACT_VERSION = "couponflow-raw/1"


@dataclass(frozen=True)
class RawTable:
    name: str
    columns: dict[str, pa.DataType]
    key: tuple[str, ...]
    daily: bool
    # the column whose calendar date must equal the partition date (daily tables); for
    # ``campaigns`` the date is the campaign's start, looked up by the gate
    event_column: str | None = None
    not_null: tuple[str, ...] = ()
    non_negative: tuple[str, ...] = ()
    # checks that the real data legitimately fails, with the documented reason: they warn
    soft_unique_key_reason: str | None = None
    description: str = ""

    @property
    def schema(self) -> pa.Schema:
        return pa.schema(list(self.columns.items()))


TRANSACTIONS = RawTable(
    name="transactions",
    columns={
        "household_id": ID,
        "store_id": ID,
        "basket_id": ID,
        "product_id": ID,
        "quantity": ID,
        "sales_value": MONEY,
        "retail_disc": MONEY,
        "coupon_disc": MONEY,
        "coupon_match_disc": MONEY,
        "week": ID,
        "transaction_timestamp": TS,
    },
    key=("basket_id", "product_id"),
    daily=True,
    event_column="transaction_timestamp",
    not_null=(
        "household_id",
        "store_id",
        "basket_id",
        "product_id",
        "quantity",
        "sales_value",
        "transaction_timestamp",
    ),
    # quantity 0 and sales_value 0 occur legitimately (8,869 and 11,226 lines); discounts are
    # stored as non-negative amounts
    non_negative=("quantity", "sales_value", "retail_disc", "coupon_disc", "coupon_match_disc"),
    description="basket lines, partitioned by the date of transaction_timestamp",
)

COUPON_REDEMPTIONS = RawTable(
    name="coupon_redemptions",
    columns={"household_id": ID, "coupon_upc": ID, "campaign_id": ID, "redemption_date": TS},
    key=("household_id", "coupon_upc", "campaign_id", "redemption_date"),
    daily=True,
    event_column="redemption_date",
    not_null=("household_id", "coupon_upc", "campaign_id", "redemption_date"),
    description="coupon redemptions, partitioned by redemption_date",
)

CAMPAIGNS = RawTable(
    name="campaigns",
    columns={"campaign_id": ID, "household_id": ID},
    key=("household_id", "campaign_id"),
    daily=True,
    event_column=None,  # the campaign's start date, from campaign_descriptions
    not_null=("campaign_id", "household_id"),
    description="households that received a campaign, partitioned by the campaign's start date",
)

CAMPAIGN_DESCRIPTIONS = RawTable(
    name="campaign_descriptions",
    columns={"campaign_id": ID, "campaign_type": TEXT, "start_date": TS, "end_date": TS, "planned_size": ID},
    key=("campaign_id",),
    daily=False,
    not_null=("campaign_id", "campaign_type", "start_date", "end_date", "planned_size"),
    non_negative=("planned_size",),
    description="campaign plans: type, window and planned number of recipients",
)

COUPONS = RawTable(
    name="coupons",
    columns={"coupon_upc": ID, "product_id": ID, "campaign_id": ID},
    key=("coupon_upc", "product_id", "campaign_id"),
    daily=False,
    not_null=("coupon_upc", "product_id", "campaign_id"),
    soft_unique_key_reason="the source repeats 4,872 (coupon, product, campaign) rows; staging deduplicates",
    description="which products each coupon of a campaign covers",
)

PRODUCTS = RawTable(
    name="products",
    columns={
        "product_id": ID,
        "manufacturer_id": ID,
        "department": TEXT,
        "brand": TEXT,
        "product_category": TEXT,
        "product_type": TEXT,
        "package_size": TEXT,
    },
    key=("product_id",),
    daily=False,
    not_null=("product_id",),
    description="product catalogue",
)

DEMOGRAPHICS = RawTable(
    name="demographics",
    columns={
        "household_id": ID,
        "age": TEXT,
        "income": TEXT,
        "home_ownership": TEXT,
        "marital_status": TEXT,
        "household_size": TEXT,
        "household_comp": TEXT,
        "kids_count": TEXT,
    },
    key=("household_id",),
    daily=False,
    not_null=("household_id",),
    description="household demographics (801 of 2,469 households)",
)

DAILY_TABLES: tuple[RawTable, ...] = (TRANSACTIONS, COUPON_REDEMPTIONS, CAMPAIGNS)
SNAPSHOT_TABLES: tuple[RawTable, ...] = (CAMPAIGN_DESCRIPTIONS, COUPONS, PRODUCTS, DEMOGRAPHICS)
RAW_TABLES: dict[str, RawTable] = {t.name: t for t in DAILY_TABLES + SNAPSHOT_TABLES}
