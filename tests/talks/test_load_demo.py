import io

import pytest
from django.core.management import call_command

from issues.models import GapSummary, Issue
from positions.models import Position, PositionRevision
from talks.models import Membership, TalkParty

pytestmark = pytest.mark.django_db


def test_demo_has_the_gaza_parties_issues_rounds_and_users(demo):
    roles = dict(TalkParty.objects.filter(talk=demo).values_list("party__name", "role"))
    assert roles == {
        "Israel": "principal",
        "Hamas": "principal",
        "Egypt": "mediator",
        "Qatar": "mediator",
        "United States": "mediator",
    }
    kinds = dict(Issue.objects.filter(talk=demo).values_list("key", "scale_kind"))
    assert kinds == {
        "withdrawal": "ordinal",
        "prisoners": "numeric",
        "governance": "categorical",
        "aid": "ordinal",
        "ceasefire": "numeric",
    }
    assert demo.rounds.count() >= 2
    assert set(Membership.objects.filter(talk=demo).values_list("user__username", "role")) >= {
        ("analyst", "analyst"),
        ("mediator", "mediator"),
        ("viewer", "viewer"),
    }
    # Declared positions for both principals on every issue, with the brief as source.
    declared = Position.objects.filter(issue__talk=demo, layer="declared")
    assert declared.count() == 10
    assert all(p.sources.exists() and p.rationale for p in declared)
    # Assessed positions carry low or medium confidence.
    assessed = Position.objects.filter(issue__talk=demo, layer="assessed")
    assert assessed.exists()
    assert set(assessed.values_list("confidence", flat=True)) <= {"low", "medium"}
    assert set(PositionRevision.objects.values_list("via", flat=True)) == {"import"}


def test_running_the_demo_twice_changes_nothing(demo):
    def state():
        return (
            list(Position.objects.order_by("pk").values_list("pk", "version")),
            PositionRevision.objects.count(),
            list(GapSummary.objects.order_by("pk").values_list("pk", "requested_rev")),
            Membership.objects.count(),
        )

    before = state()
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert state() == before
    assert "0 rows created" in out.getvalue()
    assert "analyst" in out.getvalue()


def test_demo_summaries_are_current_for_both_layers_of_all_five_issues(demo):
    summaries = GapSummary.objects.filter(issue__talk=demo)
    assert summaries.count() == 10
    for summary in summaries:
        assert not summary.pending, summary
        assert summary.computed_rev == summary.requested_rev > 0
        assert summary.narrative
    withdrawal = summaries.get(issue__key="withdrawal", layer="declared")
    assert withdrawal.status == "gap"
    assert withdrawal.gap == pytest.approx(0.5)
    assert "two steps apart" in withdrawal.narrative
