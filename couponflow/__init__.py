"""couponflow: the daily coupon-allocation data product (lake, dbt, gates, model, campaign).

Two layers live here: ``couponflow.platform`` (settings, stores, manifests, lake layout, sources,
landing, warehouse) and ``couponflow.app`` (publishing, the report, outcomes). The decision is in
``models/``, the gates in ``expectations/``, the orchestration in ``flows/`` (docs/architecture.md).
"""
