"""`manage.py recompute_gaps` and `manage.py gap_report`, on the demo talk."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F

from issues import gaps, selectors
from issues.models import GapSummary, Issue
from tests.factories import IssueFactory, TalkFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def exact(summary: GapSummary) -> bool:
    issue_input = selectors.issue_gap_input(issue_id=summary.issue_id, layer=summary.layer)
    return summary.figures == gaps.compute_issue(issue_input).to_dict()


def lose_tasks(*summaries: GapSummary) -> None:
    """Requests whose tasks never ran (a broker outage): stale and pending."""
    GapSummary.objects.filter(pk__in=[s.pk for s in summaries]).update(
        requested_rev=F("requested_rev") + 1, pending=True
    )


def test_the_demo_summaries_are_exact_for_both_layers_of_all_five_issues(demo):
    summaries = GapSummary.objects.filter(issue__talk=demo)
    assert sorted(summaries.values_list("layer", flat=True)) == ["assessed"] * 5 + ["declared"] * 5
    for summary in summaries:
        assert summary.computed_rev == summary.requested_rev > 0
        assert not summary.pending
        assert exact(summary), summary


def test_recompute_gaps_brings_only_the_stale_summaries_current(demo):
    summaries = GapSummary.objects.filter(issue__talk=demo).order_by("pk")
    stale = [summaries[0], summaries[3]]
    lose_tasks(*stale)
    counts = dict(summaries.values_list("pk", "compute_count"))

    out, err = run("recompute_gaps")

    assert "Recomputed 2 stale summaries" in out
    assert "2/2" in err  # the progress bar
    for summary in summaries.all():
        assert summary.computed_rev == summary.requested_rev
        assert not summary.pending
        assert exact(summary)
        expected = counts[summary.pk] + (1 if summary.pk in {s.pk for s in stale} else 0)
        assert summary.compute_count == expected


def test_recompute_gaps_for_one_talk_leaves_the_others_alone(demo):
    other = IssueFactory(talk=TalkFactory(slug="elsewhere"))
    lose_tasks(*GapSummary.objects.filter(issue=other))
    lose_tasks(GapSummary.objects.filter(issue__talk=demo).first())

    out, _err = run("recompute_gaps", "--talk", "gaza-ceasefire")

    assert "Recomputed 1 stale summaries" in out
    assert not GapSummary.objects.filter(issue__talk=demo, pending=True).exists()
    assert GapSummary.objects.filter(issue=other, pending=True).count() == 2


def test_recompute_gaps_all_recomputes_every_summary_and_makes_missing_ones(demo):
    withdrawal = Issue.objects.get(talk=demo, key="withdrawal")
    GapSummary.objects.filter(issue=withdrawal).delete()
    before = dict(GapSummary.objects.filter(issue__talk=demo).values_list("pk", "computed_rev"))

    out, err = run("recompute_gaps", "--all", "--talk", "gaza-ceasefire")

    assert "Recomputed 10 summaries; 2 with changed figures." in out  # the two new ones
    assert "10/10" in err
    summaries = GapSummary.objects.filter(issue__talk=demo)
    assert summaries.count() == 10
    for summary in summaries:
        assert summary.computed_rev == summary.requested_rev
        assert exact(summary)
        if summary.pk in before:
            assert summary.computed_rev == before[summary.pk] + 1
    assert summaries.get(issue=withdrawal, layer="declared").gap == pytest.approx(0.5)


def test_recompute_gaps_refuses_an_unknown_talk():
    with pytest.raises(CommandError, match="No talk with the slug 'nowhere'"):
        run("recompute_gaps", "--talk", "nowhere")


def test_gap_report_prints_a_table_per_layer_with_the_figures_mediators_act_on(demo):
    out, _err = run("gap_report", "gaza-ceasefire", "--width", "1000")  # no cell wraps

    declared, assessed = out.split("assessed positions")
    assert "Gaza ceasefire talks (gaza-ceasefire): declared positions" in declared
    for title in ("Troop withdrawal", "Prisoner-exchange ratio", "Post-conflict governance"):
        assert title in declared
        assert title in assessed
    # Withdrawal, declared: the gap in option steps, who blocks and what would open a zone.
    assert "gap 0.50: two steps" in declared
    assert (
        "Israel goes no further than a phased withdrawal tied to hostage releases, Hamas "
        "wants at least complete and unconditional withdrawal; opens if either concedes "
        "two steps" in declared
    )
    # Governance, declared: the option one side would have to accept.
    assert "opens if Israel also accepts Hamas keeps its governing role" in declared
    # The narratives, and the roll-up.
    assert "Troop withdrawal: Israel's red line stops at a phased withdrawal" in declared
    assert "two steps apart." in declared
    assert "Blocking issues, by gap x priority: ceasefire" in declared
    assert "A whole deal is not feasible yet." in declared
    assert "zone: a technocratic committee" in assessed
    assert "first computed" in out


def test_gap_report_marks_a_summary_being_recomputed(demo):
    lose_tasks(GapSummary.objects.get(issue__talk=demo, issue__key="aid", layer="declared"))

    out, _err = run("gap_report", "gaza-ceasefire", "--layer", "declared", "--width", "400")

    assert "assessed positions" not in out
    assert out.count("(recomputing)") == 1


def test_gap_report_of_every_talk_and_of_an_unknown_one(demo):
    IssueFactory(talk=TalkFactory(slug="elsewhere", title="Another talk"), title="Water")

    out, _err = run("gap_report", "--width", "400")

    assert "Another talk (elsewhere): declared positions" in out
    assert "Water" in out
    assert "not computed yet" in out
    with pytest.raises(CommandError, match="No talk with the slug 'nowhere'"):
        run("gap_report", "nowhere")
