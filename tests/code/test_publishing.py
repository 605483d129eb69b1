"""Publishing a campaign: the decision log first, the campaign's manifest last (the day's commit
point), and a forced re-publish that dies half way never leaves sends and a decision log from two
different decisions."""

from __future__ import annotations

from datetime import date

import pytest

from couponflow.app.publishing import publish_campaign, published_campaign, published_decisions
from couponflow.platform.storage import LocalStore
from models.scoring import v0_scorer
from tests.helpers import decide_day

D = date(2017, 10, 30)  # campaign 18 starts


class DyingStore(LocalStore):
    """A local lake whose process 'dies' (raises) on the first touch of ``campaigns/`` after a
    decision log's manifest was written: the moment between the two datasets of one publish."""

    def __init__(self, root) -> None:
        super().__init__(root)
        self.armed = False

    def _touch(self, key: str) -> None:
        if self.armed and key.startswith("campaigns/"):
            raise ConnectionError(f"store lost before {key}")

    def put(self, key: str, data: bytes) -> None:
        self._touch(key)
        super().put(key, data)
        if key.startswith("decisions/") and key.endswith("manifest.json") and self.armed is None:
            self.armed = True

    def get(self, key: str) -> bytes:
        self._touch(key)
        return super().get(key)

    def exists(self, key: str) -> bool:
        self._touch(key)
        return super().exists(key)

    def delete(self, key: str) -> None:
        self._touch(key)
        super().delete(key)


def _bytes(store, area: str) -> dict[str, bytes]:
    return {k: store.get(k) for k in store.list(f"{area}/date={D.isoformat()}/")}


def test_a_forced_republish_that_dies_between_the_log_and_the_sends_leaves_the_date_unpublished(landed_year, tmp_path):
    res = landed_year["res"]
    settings = res.settings
    scorer = v0_scorer(settings.prior_strength)
    first = decide_day(res, D, scorer)
    cheaper = settings.model_copy(update={"budget_per_day": settings.budget_per_day / 5})
    second = decide_day(res, D, scorer, cheaper)
    assert 0 < len(second.sends) < len(first.sends)

    store = DyingStore(tmp_path / "lake")
    publish_campaign(store, settings, first)
    store.armed = None  # arm at the next decision log's manifest
    with pytest.raises(ConnectionError):
        publish_campaign(store, cheaper, second, force=True)
    store.armed = False
    # the new log is published, so the old sends must not be: a run that finds the date published
    # would reuse sends that the log does not describe
    log, _ = published_decisions(store, D)
    assert int(log["chosen"].sum()) == len(second.sends)
    assert published_campaign(store, D) is None

    # the next run decides the date again and completes it: the bytes of an undisturbed publish
    publish_campaign(store, cheaper, second)
    ref = LocalStore(tmp_path / "ref")
    publish_campaign(ref, cheaper, second)
    for area in ("campaigns", "decisions"):
        assert _bytes(store, area) == _bytes(ref, area)
