"""The recomputation pipeline on the real services: Redis, PostgreSQL and a `celery worker`.

Writes go through the position services exactly as the pages and the API make them; the
worker process (tests/worker.py) computes. Run with `-s` to see the measured figures.
"""

import pytest

from issues import gaps, selectors
from issues.models import GapSummary
from positions.models import Interface
from positions.services import PositionInput, position_create
from tests.factories import (
    IssueFactory,
    PartyFactory,
    TalkFactory,
    TalkPartyFactory,
    UserFactory,
)

pytestmark = pytest.mark.worker


def from_scratch(summary: GapSummary) -> dict:
    """What the engine says now, from the current positions: the figures to compare with."""
    issue_input = selectors.issue_gap_input(issue_id=summary.issue_id, layer=summary.layer)
    return gaps.compute_issue(issue_input).to_dict()


def assert_exact(summary: GapSummary) -> None:
    expected = from_scratch(summary)
    assert summary.figures == expected
    assert summary.status == expected["status"]
    assert summary.gap == expected["gap"]
    assert summary.narrative == expected["narrative"]


def numeric_talk(issues: int = 1):
    talk = TalkFactory()
    north, south = PartyFactory(name="North"), PartyFactory(name="South")
    TalkPartyFactory(talk=talk, party=north)
    TalkPartyFactory(talk=talk, party=south)
    analyst = UserFactory(username="pipeline-analyst")
    made = [
        IssueFactory(talk=talk, key=f"truce-{i}", title=f"Truce {i}", unit="days")
        for i in range(issues)
    ]
    return talk, north, south, analyst, made


def create(issue, party, analyst, demand, red_line, layer="declared"):
    return position_create(
        issue=issue,
        party=party,
        layer=layer,
        data=PositionInput(demand=demand, red_line=red_line),
        by=analyst,
        via=Interface.API,
        note="opening estimate",
    )


def test_an_edit_committed_through_the_service_is_computed_by_the_worker(real_worker):
    """Both principals' positions commit; the worker makes the summary fresh and exact."""
    _talk, north, south, analyst, (issue,) = numeric_talk()
    create(issue, north, analyst, 10, 40)
    create(issue, south, analyst, 90, 60)

    declared, assessed = (
        s for s in sorted(real_worker.wait_until_fresh(issue), key=lambda s: s.layer != "declared")
    )
    assert declared.requested_rev == declared.computed_rev >= 1
    assert declared.status == "gap"
    assert declared.gap == pytest.approx(0.2)
    assert_exact(declared)
    # Nothing was written on the assessed layer: it was not recomputed.
    assert assessed.requested_rev == assessed.computed_rev == 0
