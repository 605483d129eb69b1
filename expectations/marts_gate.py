"""The marts gate: after ``dbt build`` and before allocation, the features a decision reads are sane.

The warehouse is read into pandas DataFrames through the reader the caller hands in
(``couponflow.app.gates`` passes the warehouse's ``query``; this module opens nothing) and validated
with GX suites (the SQLAlchemy/DuckDB path of GX has open bugs, DESIGN.md). For the run dates
of a run (one for ``daily``, the range of a ``backfill``) it checks:

* ``scoring_candidates`` of the run dates: required columns, the grain, null rates, feature
  ranges (shares in [0, 1], counts >= 0, days since the last purchase >= 1, ...), and a
  **point-in-time leak check**: each candidate's ``baskets_all`` and ``days_since_last_purchase``
  must equal an independent recomputation from the ``baskets`` mart restricted to baskets dated
  before the run date, and every candidate must have such a basket. A feature built with data
  of the run date or later (a ``<=`` for a ``<``) breaks the equality or makes a day count 0.
* ``household_features`` (the training side): the same leak check, on the as-of dates this build
  can have added: those after the last run date whose marts gate passed (``since``, read from the
  lake's gate records by ``couponflow.app.gates``) through the last run date; every date when no
  run passed before. A date's rows never change once built (its days are immutable), so checking
  every date on every run cost a pass over the history per date and found nothing new.
* ``candidate_counts``: every campaign that starts on a run date has candidates, exactly one per
  household with a purchase before that date; no candidate belongs to a campaign starting
  another day.
* ``training_examples``: the label rate of each campaign, and of every example whose window has
  fully landed, within a band (real data: 1.5 % .. 19 % per campaign, 13 % overall).

dbt's own tests (keys, not-null, accepted values) run inside ``dbt build``; this gate checks
what dbt tests cannot express: relations between marts, time, and rates.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pandas as pd

from expectations.runtime import GateResult, GateRun, run_suite, soft

Query = Callable[..., pd.DataFrame]  # (sql, params) -> frame: the warehouse's reader, handed in

GATE = "marts"
EPS = 1e-9
LABEL_BAND_CAMPAIGN = (0.0, 0.5)  # per campaign, every label (real max 0.19)
LABEL_BAND_OVERALL = (0.01, 0.40)  # examples whose window has landed (real 0.09 .. 0.14 over the year)
MIN_FINAL_EXAMPLES = 100  # below this the overall rate is not judged

SHARES = [
    "share_baskets_with_coupon",
    "private_label_share",
    "retail_disc_share",
    "dept_share_grocery",
    "dept_share_drug_gm",
    "dept_share_produce",
    "dept_share_meat",
    "dept_share_deli",
    "dept_share_fuel",
    "dept_share_pastry",
    "dept_share_other",
    "aff_spend_share_all",
    "aff_products_share",
    "aff_coupons_touched_share",
]
COUNTS = [
    "baskets_30d",
    "baskets_90d",
    "campaigns_received",
    "campaigns_redeemed",
    "redemptions_all",
    "coupon_discount_all",
    "aff_products_all",
    "aff_spend_all",
    "same_coupons_redeemed",
    "n_products_all",
]
NOT_NULL = [
    "run_date",
    "household_id",
    "campaign_id",
    "campaign_type",
    "planned_size",
    "expected_discount",
    "history_days",
    "days_since_last_purchase",
    "days_since_first_purchase",
    "baskets_all",
    "spend_per_week_all",
    "campaigns_received",
    "campaigns_redeemed",
]
CANDIDATE_COLUMNS = sorted(
    set(
        NOT_NULL
        + SHARES
        + COUNTS
        + ["baskets_per_week_all", "avg_basket_value_90d", "days_since_last_redemption", "age"]
    )
)

FIX_PIT = (
    "features of date D must use only data dated before D: check the as-of filter "
    "(transaction_date < as_of_date) of household_features, then dbt build --full-refresh"
)
FIX_REBUILD = "rebuild the marts (dbt build) and check the model named in the check"


# -- suites --------------------------------------------------------------------------------


def _leak_expectations(E, key: str) -> list:
    return [
        E.ExpectColumnValuesToNotBeNull(
            column="baskets_before",
            meta={
                "fix": f"a household has features as of {key} but no basket dated before it (features from the "
                f"future): {FIX_PIT}"
            },
        ),
        E.ExpectColumnPairValuesToBeEqual(
            column_A="baskets_all",
            column_B="baskets_before",
            meta={"fix": f"baskets_all differs from the baskets dated before {key}: {FIX_PIT}"},
        ),
        E.ExpectColumnPairValuesToBeEqual(
            column_A="days_since_last_purchase",
            column_B="days_since_last_basket",
            meta={"fix": f"days_since_last_purchase differs from the last basket dated before {key}: {FIX_PIT}"},
        ),
        E.ExpectColumnValuesToBeBetween(column="days_since_last_purchase", min_value=1, meta={"fix": FIX_PIT}),
        E.ExpectColumnValuesToBeBetween(column="days_since_last_redemption", min_value=1, meta={"fix": FIX_PIT}),
    ]


def candidates_suite() -> list:
    import great_expectations as gx

    E = gx.expectations
    fix = {"fix": FIX_REBUILD}
    exps: list = [
        E.ExpectTableColumnsToMatchSet(
            column_set=CANDIDATE_COLUMNS,
            exact_match=False,
            meta={"fix": "scoring_candidates lacks columns the decision reads: rebuild the marts (dbt build)"},
        ),
        E.ExpectCompoundColumnsToBeUnique(
            column_list=["run_date", "household_id", "campaign_id"],
            meta={
                "fix": "scoring_candidates must hold one row per (run_date, household_id, campaign_id): check its joins"
            },
        ),
    ]
    exps += [E.ExpectColumnValuesToNotBeNull(column=c, meta=fix) for c in NOT_NULL]
    exps += [E.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=1 + EPS, meta=fix) for c in SHARES]
    exps += [E.ExpectColumnValuesToBeBetween(column=c, min_value=0, meta=fix) for c in COUNTS]
    exps += [
        E.ExpectColumnValuesToBeBetween(column="baskets_all", min_value=1, meta=fix),
        E.ExpectColumnValuesToBeBetween(column="history_days", min_value=1, meta=fix),
        E.ExpectColumnValuesToBeBetween(column="spend_per_week_all", min_value=0, max_value=5000, meta=fix),
        E.ExpectColumnValuesToBeBetween(column="baskets_per_week_all", min_value=0, max_value=100, meta=fix),
        E.ExpectColumnValuesToBeBetween(column="planned_size", min_value=1, meta=fix),
        E.ExpectColumnValuesToBeBetween(
            column="expected_discount", min_value=0, max_value=100, strict_min=True, meta=fix
        ),
        E.ExpectColumnValuesToBeInSet(column="campaign_type", value_set=["Type A", "Type B", "Type C"], meta=fix),
        E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="days_since_first_purchase", column_B="days_since_last_purchase", or_equal=True, meta=fix
        ),
        E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="history_days", column_B="days_since_first_purchase", or_equal=True, meta=fix
        ),
        E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="campaigns_received", column_B="campaigns_redeemed", or_equal=True, meta=fix
        ),
        E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="baskets_all", column_B="baskets_90d", or_equal=True, meta=fix
        ),
        E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="baskets_90d", column_B="baskets_30d", or_equal=True, meta=fix
        ),
        # null rates: a jump means a broken join; demographics cover a third of the households
        E.ExpectColumnValuesToNotBeNull(
            column="avg_basket_value_90d",
            mostly=0.8,
            meta={"fix": "more than 20% of candidates lack avg_basket_value_90d (real: 3%): check household_features"},
        ),
        E.ExpectColumnValuesToNotBeNull(
            column="age",
            mostly=0.2,
            severity=soft(),
            meta={
                "reason": "demographics cover 801 of 2,469 households (about 34% of candidates); fewer "
                "means the demographics snapshot shrank",
            },
        ),
    ]
    return exps + _leak_expectations(E, "the run date")


def household_features_suite() -> list:
    import great_expectations as gx

    E = gx.expectations
    return [
        E.ExpectCompoundColumnsToBeUnique(
            column_list=["household_id", "as_of_date"],
            meta={"fix": "household_features must hold one row per (household_id, as_of_date)"},
        ),
        *_leak_expectations(E, "as_of_date"),
    ]


def candidate_counts_suite() -> list:
    import great_expectations as gx

    E = gx.expectations
    return [
        E.ExpectColumnValuesToBeInSet(
            column="starts_on_run_date",
            value_set=[True],
            meta={
                "fix": "scoring_candidates holds a campaign that does not start on the run date: check its as_of join"
            },
        ),
        E.ExpectColumnValuesToBeBetween(
            column="candidates",
            min_value=1,
            meta={
                "fix": "a campaign starts on the run date but has no candidates: land every day before it and "
                "run dbt build"
            },
        ),
        E.ExpectColumnPairValuesToBeEqual(
            column_A="candidates",
            column_B="households_with_history",
            meta={
                "fix": "a campaign's candidates must be exactly the households with a purchase before the run date: "
                "check scoring_candidates and household_features"
            },
        ),
    ]


def labels_suite() -> list:
    import great_expectations as gx

    E = gx.expectations
    lo, hi = LABEL_BAND_CAMPAIGN
    return [
        E.ExpectColumnValuesToBeBetween(
            column="label_rate",
            min_value=lo,
            max_value=hi,
            meta={
                "fix": f"a campaign's redemption rate is outside [{lo}, {hi}] (real: at most 0.19): look for "
                "replayed rows in raw/coupon_redemptions (remove that day's partition manifest and re-run "
                "the date to land it again), else check the label join of training_examples"
            },
        ),
        E.ExpectColumnValuesToBeBetween(
            column="final_label_rate",
            min_value=lo,
            max_value=hi,
            meta={"fix": "the label rate of a fully landed campaign is out of band: check training_examples"},
        ),
    ]


def label_overall_suite() -> list:
    import great_expectations as gx

    E = gx.expectations
    lo, hi = LABEL_BAND_OVERALL
    return [
        E.ExpectColumnValuesToBeBetween(
            column="final_label_rate",
            min_value=lo,
            max_value=hi,
            meta={
                "fix": f"the label rate over examples whose window has landed is outside [{lo}, {hi}] (real 0.13): "
                "labels are broken, check training_examples"
            },
        )
    ]


# -- frames --------------------------------------------------------------------------------

_RECOMPUTED = """
    b as (
        select k.household_id, k.{key}, count(*) as baskets_before,
               datediff('day', max(x.basket_date), k.{key}) as days_since_last_basket
        from (select distinct household_id, {key} from f) k
        join marts.baskets x on x.household_id = k.household_id and x.basket_date < k.{key}
        group by 1, 2
    )
"""


def candidates_frame(query: Query, run_dates: list[date]) -> pd.DataFrame:
    return query(
        f"""
        with f as (select * from marts.scoring_candidates where run_date = any(?::date[])),
        {_RECOMPUTED.format(key="run_date")}
        select f.*, b.baskets_before, b.days_since_last_basket
        from f left join b using (household_id, run_date)
        order by run_date, campaign_id, household_id
    """,
        [run_dates],
    )


def household_features_frame(query: Query, until: date, since: date | None = None) -> pd.DataFrame:
    """The rows of the as-of dates in (since, until] (every date through ``until`` without since)."""
    return query(
        f"""
        with f as (select household_id, as_of_date, baskets_all, days_since_last_purchase,
                          days_since_last_redemption
                   from marts.household_features where as_of_date <= ? and as_of_date > ?),
        {_RECOMPUTED.format(key="as_of_date")}
        select f.*, b.baskets_before, b.days_since_last_basket
        from f left join b using (household_id, as_of_date)
        order by as_of_date, household_id
    """,
        [until, since or date.min],
    )


def candidate_counts_frame(query: Query, run_dates: list[date]) -> pd.DataFrame:
    return query(
        """
        with d as (select unnest(?::date[]) as run_date),
        starting as (
            select d.run_date, c.campaign_id from d join marts.campaigns c on c.start_date = d.run_date
        ),
        cands as (
            select run_date, campaign_id, count(*) as candidates
            from marts.scoring_candidates where run_date in (select run_date from d) group by 1, 2
        ),
        pairs as (select run_date, campaign_id from starting union select run_date, campaign_id from cands),
        hh as (
            select p.run_date, count(distinct x.household_id) as households_with_history
            from (select distinct run_date from pairs) p
            join marts.baskets x on x.basket_date < p.run_date
            group by 1
        )
        select p.run_date, p.campaign_id,
               s.campaign_id is not null as starts_on_run_date,
               coalesce(c.candidates, 0) as candidates,
               coalesce(hh.households_with_history, 0) as households_with_history
        from pairs p
        left join starting s using (run_date, campaign_id)
        left join cands c using (run_date, campaign_id)
        left join hh using (run_date)
        order by 1, 2
    """,
        [run_dates],
    )


def labels_frame(query: Query) -> pd.DataFrame:
    return query("""
        select campaign_id, count(*) as examples,
               count(*) filter (where not is_censored) as final_examples,
               avg(label::double) as label_rate,
               avg(label::double) filter (where not is_censored) as final_label_rate
        from marts.training_examples group by 1 order by 1
    """)


def label_overall_frame(labels: pd.DataFrame) -> pd.DataFrame:
    final = labels["final_examples"].sum()
    rate = (labels["final_label_rate"].fillna(0) * labels["final_examples"]).sum() / final if final else None
    return pd.DataFrame(
        {
            "final_examples": [int(final)],
            "final_label_rate": [float(rate) if rate is not None and final >= MIN_FINAL_EXAMPLES else None],
        },
        dtype="float64",
    )


# -- the gate ------------------------------------------------------------------------------


def label_of(run_dates: list[date]) -> str:
    days = sorted(run_dates)
    return days[0].isoformat() if len(days) == 1 else f"{days[0].isoformat()}..{days[-1].isoformat()}"


def marts_frames(query: Query, run_dates: list[date], since: date | None = None) -> dict[str, pd.DataFrame]:
    """What the gate validates, read from the warehouse as pandas DataFrames: the run dates'
    candidates, and the household features of the as-of dates after ``since`` (the last run date
    whose marts gate passed; None: every date) through the last run date."""
    run_dates = sorted(set(run_dates))
    return {
        "scoring_candidates": candidates_frame(query, run_dates),
        "candidate_counts": candidate_counts_frame(query, run_dates),
        "household_features": household_features_frame(query, run_dates[-1], since),
        "training_examples": labels_frame(query),
    }


def validate_marts(frames: dict[str, pd.DataFrame], run_dates: list[date], tables: list[str] | None = None) -> GateRun:
    """Validate the frames (one GX run per suite; only ``tables`` when given); results are
    labelled with the run dates."""
    label = label_of(run_dates)
    jobs = [
        (
            "scoring_candidates",
            "marts.scoring_candidates",
            candidates_suite,
            frames["scoring_candidates"],
            ["run_date", "household_id", "campaign_id"],
        ),
        (
            "candidate_counts",
            "marts.candidate_counts",
            candidate_counts_suite,
            frames["candidate_counts"],
            ["run_date", "campaign_id"],
        ),
        (
            "household_features",
            "marts.household_features",
            household_features_suite,
            frames["household_features"],
            ["as_of_date", "household_id"],
        ),
        ("training_examples", "marts.training_examples", labels_suite, frames["training_examples"], ["campaign_id"]),
        (
            "training_examples",
            "marts.training_examples.overall",
            label_overall_suite,
            label_overall_frame(frames["training_examples"]),
            None,
        ),
    ]
    results: dict[str, GateResult] = {}
    for table, suite_name, suite, frame, index in jobs:
        if tables is not None and table not in tables:
            continue
        v = run_suite(suite_name, suite, frame, index_columns=index)
        res = results.setdefault(table, GateResult(GATE, table, label))
        res.checks += v.checks
        res.validations.append(v.record(GATE, table, label, [d.isoformat() for d in sorted(run_dates)]))
    return GateRun(list(results.values()), {t: f for t, f in frames.items() if t in results})
