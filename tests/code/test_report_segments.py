"""The report's behavioural-segment section (couponflow/app/report/segments.py) on a case small
enough to count by hand: reach, expected and realised redemptions and cost per segment, censored
open windows, and the honest labels on recorded history."""

from __future__ import annotations

import html
from datetime import date

import pandas as pd
import pytest

from couponflow.app.report.render import _template
from couponflow.app.report.segments import (
    CENSORED_NOTE,
    HISTORY_NOTE,
    UNSEGMENTED,
    CampaignSegments,
    SegmentInputs,
    campaign_rows,
    segments_content,
    today_rows,
)

RUN = date(2017, 10, 30)


def log(closed: bool) -> pd.DataFrame:
    """Six candidates: three "frequent" (two sent), two "lapsed" (one sent), one unsegmented."""
    df = pd.DataFrame(
        {
            "household_id": [1, 2, 3, 4, 5, 6],
            "campaign_id": 7,
            "segment": ["frequent", "frequent", "frequent", "lapsed", "lapsed", None],
            "chosen": [True, True, False, True, False, False],
            "score": [0.5, 0.25, 0.75, 0.125, 0.5, 0.3],
            "expected_cost": [2.0, 1.5, 3.0, 1.0, 2.5, 0.7],
        }
    )
    if closed:
        df["redeemed"] = [1, 0, 1, 0, 1, 0]
        df["redemption_discount"] = [3.0, 0.0, 2.0, 0.0, 1.5, 0.0]
    return df


def camp(closed: bool) -> CampaignSegments:
    return CampaignSegments(
        7,
        date(2017, 10, 4),
        date(2017, 11, 19) if not closed else date(2017, 10, 29),
        47 if not closed else 26,
        log(closed),
        0.25,
        closed,
    )


def test_today_rows_count_reach_expected_redemptions_and_cost_per_segment():
    rows = {r["segment"]: r for r in today_rows(log(False))}
    assert rows["frequent"] == {
        "segment": "frequent",
        "candidate_households": 3,
        "sends": 2,
        "reach": pytest.approx(2 / 3),
        "expected_redemptions": 0.75,
        "expected_cost": 3.5,
    }
    assert rows["lapsed"]["sends"] == 1 and rows["lapsed"]["expected_redemptions"] == 0.125
    assert rows["lapsed"]["expected_cost"] == 1.0 and rows["lapsed"]["reach"] == 0.5
    assert rows[UNSEGMENTED]["sends"] == 0 and rows[UNSEGMENTED]["reach"] == 0.0


def test_a_closed_campaign_shows_realised_redemptions_capture_and_actual_cost_when_answered():
    rows = {r["segment"]: r for r in campaign_rows(camp(True), RUN, answers_our_sends=True)}
    f = rows["frequent"]
    assert f["status"] == "closed" and f["observed_share"] == 1.0
    assert f["redeemed"] == 1  # household 1 (sent) redeemed; 3 redeemed but was not sent
    assert f["redemption_rate"] == 0.5
    assert f["redeemers_among_candidates"] == 2 and f["capture"] == 0.5
    assert f["actual_cost"] == pytest.approx(3.0 + 0.0 + 0.25 * 2)
    lapsed = rows["lapsed"]
    assert lapsed["redeemed"] == 0 and lapsed["capture"] == 0.0 and lapsed["actual_cost"] == pytest.approx(0.25)


def test_on_recorded_history_our_actual_cost_is_n_a_and_the_page_says_why():
    rows = {r["segment"]: r for r in campaign_rows(camp(True), RUN, answers_our_sends=False)}
    assert rows["frequent"]["actual_cost"] is None
    assert rows["frequent"]["capture"] == 0.5  # capture of the real redeemers is still shown
    content = segments_content(SegmentInputs(RUN, log(False), None, [camp(True)], answers_our_sends=False))
    assert content is not None and HISTORY_NOTE in content["note"]
    page = section(content)
    assert "Behavioural segments" in page and HISTORY_NOTE.split(":")[0] in page


def test_an_open_window_is_censored_never_a_plain_negative():
    rows = campaign_rows(camp(False), RUN, answers_our_sends=True)
    for r in rows:
        assert r["status"] == "open"
        assert r["observed_share"] == pytest.approx(26 / 47)  # 2017-10-04 .. 10-29 landed of 47 days
        assert r["redeemed"] is r["redemption_rate"] is r["capture"] is r["actual_cost"] is None
    content = segments_content(SegmentInputs(RUN, None, None, [camp(False)], answers_our_sends=True))
    page = section(content)
    assert ">censored / 0.8<" in page and html.escape(CENSORED_NOTE) in page  # no "0 redeemed" for it


def test_a_closed_log_without_outcomes_is_refused_with_the_fix():
    c = camp(True)
    bad = CampaignSegments(
        c.campaign_id, c.decided_on, c.window_end, c.duration_days, c.log.assign(redeemed=None), 0.25, True
    )
    with pytest.raises(ValueError, match="rebuild the warehouse"):
        campaign_rows(bad, RUN, answers_our_sends=True)


def section(content: dict | None) -> str:
    """The section's part of the page (segments.html.j2, in the report's own environment)."""
    return (
        _template()
        .environment.get_template("segments.html.j2")
        .render(r={"failure": None, "behaviour_segments": content})
    )
