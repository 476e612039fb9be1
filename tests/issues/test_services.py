import pytest
from django.core.exceptions import ValidationError

from issues.models import GapSummary, Issue, IssueOption
from issues.services import (
    ISSUE_NO_OPTIONS,
    ISSUE_OPTIONS_NEEDED,
    OPTION_IN_USE,
    OPTION_KEY_TAKEN,
    OPTION_KEYS_MISMATCH,
    IssueChanges,
    IssueConflict,
    OptionInput,
    issue_create,
    issue_option_add,
    issue_option_delete,
    issue_option_update,
    issue_options_reorder,
    issue_update,
)
from positions.models import Interface
from positions.services import PositionInput, position_create

pytestmark = pytest.mark.django_db


def keys(issue):
    return list(
        IssueOption.objects.filter(issue=issue).order_by("order").values_list("key", flat=True)
    )


def changes_of(issue, **over):
    base = {
        "title": issue.title,
        "description": issue.description,
        "priority": issue.priority,
        "order": issue.order,
        "scale_min": issue.scale_min,
        "scale_max": issue.scale_max,
        "unit": issue.unit,
        "max_label": issue.max_label,
    }
    return IssueChanges(**{**base, **over})


def test_create_refuses_an_option_scale_with_fewer_than_two_options(small_talk):
    with pytest.raises(ValidationError) as exc:
        issue_create(
            talk=small_talk.talk,
            key="lonely",
            title="Lonely",
            scale_kind="ordinal",
            options=[OptionInput("only", "Only")],
        )
    assert exc.value.message_dict["options"] == [ISSUE_OPTIONS_NEEDED]
    assert not Issue.objects.filter(key="lonely").exists()


def test_create_refuses_options_on_a_numeric_scale_and_a_duplicate_key(small_talk):
    with pytest.raises(ValidationError) as exc:
        issue_create(
            talk=small_talk.talk,
            key="truce",
            title="Again",
            scale_kind="numeric",
            scale_min=0,
            scale_max=10,
            options=[OptionInput("a", "A")],
        )
    errors = exc.value.message_dict
    assert errors["options"] == [ISSUE_NO_OPTIONS]
    assert "__all__" in errors or "key" in errors  # the (talk, key) unique constraint


def test_create_makes_a_summary_per_layer(small_talk):
    issue = issue_create(
        talk=small_talk.talk,
        key="aid",
        title="Aid",
        scale_kind="numeric",
        scale_min=0,
        scale_max=600,
        unit="trucks a day",
    )
    assert sorted(GapSummary.objects.filter(issue=issue).values_list("layer", flat=True)) == [
        "assessed",
        "declared",
    ]


def test_update_bumps_the_version_and_marks_both_layers_stale_when_the_scale_changes(
    small_talk,
):
    issue = small_talk.numeric
    updated = issue_update(
        issue=issue,
        based_on_version=1,
        changes=changes_of(issue, scale_max=200.0),
        by=small_talk.analyst,
    )
    assert updated.version == 2
    assert Issue.objects.get(pk=issue.pk).scale_max == 200.0
    summaries = GapSummary.objects.filter(issue=issue)
    assert all(s.requested_rev == 1 and s.pending for s in summaries)


def test_update_of_the_title_only_leaves_the_summaries_alone(small_talk):
    issue = small_talk.numeric
    issue_update(
        issue=issue, based_on_version=1, changes=changes_of(issue, title="Truce length"), by=None
    )
    assert Issue.objects.get(pk=issue.pk).version == 2
    assert not GapSummary.objects.filter(issue=issue, pending=True).exists()


def test_unchanged_update_keeps_the_version(small_talk):
    issue = small_talk.numeric
    issue_update(issue=issue, based_on_version=1, changes=changes_of(issue), by=None)
    assert Issue.objects.get(pk=issue.pk).version == 1


def test_stale_issue_edit_is_refused_and_nothing_is_saved(small_talk):
    issue = small_talk.numeric
    issue_update(issue=issue, based_on_version=1, changes=changes_of(issue, title="A"), by=None)
    with pytest.raises(IssueConflict) as exc:
        issue_update(issue=issue, based_on_version=1, changes=changes_of(issue, title="B"), by=None)
    assert exc.value.current_version == 2
    assert "version 1" in str(exc.value)
    assert "version is 2" in str(exc.value)
    assert Issue.objects.get(pk=issue.pk).title == "A"


def test_narrowing_the_scale_past_a_position_is_refused(small_talk):
    st = small_talk
    position_create(
        issue=st.numeric,
        party=st.north,
        layer="declared",
        data=PositionInput(demand=10, red_line=80),
        by=st.analyst,
        via=Interface.WEB,
        note="first",
    )
    issue = Issue.objects.get(pk=st.numeric.pk)
    with pytest.raises(ValidationError) as exc:
        issue_update(
            issue=issue,
            based_on_version=issue.version,
            changes=changes_of(issue, scale_max=50.0),
            by=None,
        )
    assert "North at 80.0" in exc.value.message_dict["scale_max"][0]
    assert Issue.objects.get(pk=issue.pk).scale_max == 100.0


def test_invalid_bounds_are_a_field_error(small_talk):
    issue = small_talk.numeric
    with pytest.raises(ValidationError):
        issue_update(
            issue=issue,
            based_on_version=1,
            changes=changes_of(issue, scale_min=100.0, scale_max=10.0),
            by=None,
        )
    assert Issue.objects.get(pk=issue.pk).version == 1


def test_options_are_added_at_the_end_or_before_another(small_talk):
    issue = small_talk.ordinal
    issue_option_add(issue=issue, based_on_version=1, option=OptionInput("every", "Every"), by=None)
    issue_option_add(
        issue=issue,
        based_on_version=2,
        option=OptionInput("half", "Half"),
        before_key="most",
        by=None,
    )
    assert keys(issue) == ["none", "some", "half", "most", "all", "every"]
    assert Issue.objects.get(pk=issue.pk).version == 3
    assert GapSummary.objects.filter(issue=issue, pending=True).count() == 2


def test_a_duplicate_or_malformed_option_key_is_refused(small_talk):
    issue = small_talk.ordinal
    with pytest.raises(ValidationError) as exc:
        issue_option_add(issue=issue, based_on_version=1, option=OptionInput("some", "S"), by=None)
    assert exc.value.message_dict["key"] == [OPTION_KEY_TAKEN.format(key="some")]
    with pytest.raises(ValidationError) as exc:
        issue_option_add(
            issue=issue, based_on_version=1, option=OptionInput("no spaces", "S"), by=None
        )
    assert "key" in exc.value.message_dict
    assert keys(issue) == ["none", "some", "most", "all"]


def test_option_edits_are_refused_on_a_stale_issue_version(small_talk):
    issue = small_talk.ordinal
    option = IssueOption.objects.get(issue=issue, key="some")
    issue_option_update(option=option, based_on_version=1, label="Some of it", by=None)
    with pytest.raises(IssueConflict):
        issue_option_update(option=option, based_on_version=1, label="Other", by=None)
    assert IssueOption.objects.get(pk=option.pk).label == "Some of it"


def test_reorder_takes_every_key_once(small_talk):
    issue = small_talk.ordinal
    with pytest.raises(ValidationError) as exc:
        issue_options_reorder(issue=issue, based_on_version=1, keys=["all", "none"], by=None)
    assert exc.value.message_dict["options"] == [OPTION_KEYS_MISMATCH]
    issue_options_reorder(
        issue=issue, based_on_version=1, keys=["all", "most", "some", "none"], by=None
    )
    assert keys(issue) == ["all", "most", "some", "none"]


def test_an_option_in_use_cannot_be_deleted_and_a_scale_keeps_two(small_talk):
    st = small_talk
    position_create(
        issue=st.ordinal,
        party=st.north,
        layer="declared",
        data=PositionInput(demand="none", red_line="some"),
        by=st.analyst,
        via=Interface.WEB,
        note="first",
    )
    some = IssueOption.objects.get(issue=st.ordinal, key="some")
    with pytest.raises(ValidationError) as exc:
        issue_option_delete(option=some, based_on_version=1, by=None)
    assert exc.value.message_dict["options"] == [OPTION_IN_USE.format(count=1)]
    issue_option_delete(
        option=IssueOption.objects.get(issue=st.ordinal, key="most"), based_on_version=1, by=None
    )
    assert keys(st.ordinal) == ["none", "some", "all"]
    categorical = st.categorical
    issue_option_delete(
        option=IssueOption.objects.get(issue=categorical, key="c"), based_on_version=1, by=None
    )
    with pytest.raises(ValidationError) as exc:
        issue_option_delete(
            option=IssueOption.objects.get(issue=categorical, key="b"),
            based_on_version=2,
            by=None,
        )
    assert exc.value.message_dict["options"] == [ISSUE_OPTIONS_NEEDED]


def test_numeric_issues_take_no_options(small_talk):
    with pytest.raises(ValidationError) as exc:
        issue_option_add(
            issue=small_talk.numeric, based_on_version=1, option=OptionInput("x", "X"), by=None
        )
    assert exc.value.message_dict["options"] == [ISSUE_NO_OPTIONS]


def test_the_engine_input_holds_what_each_principals_position_says(filled_talk):
    """issue_gap_input reads only the fields the engine needs; they agree with the snapshot
    every revision stores (acceptable sets included), for every issue and layer."""
    from issues.selectors import issue_gap_input, snapshot_to_party_position
    from positions.models import Position
    from positions.services import position_snapshot

    st = filled_talk
    for issue in (st.numeric, st.ordinal, st.categorical):
        for layer in ("declared", "assessed"):
            expected = tuple(
                snapshot_to_party_position(
                    party=p.party.name, snapshot=position_snapshot(p), version=p.version
                )
                for p in Position.objects.current().filter(issue=issue, layer=layer)
            )
            got = issue_gap_input(issue_id=issue.pk, layer=layer)
            assert got.positions == expected
    assert issue_gap_input(issue_id=st.categorical.pk, layer="declared").positions[0].acceptable


def test_a_new_principal_makes_every_summary_of_the_talk_stale(small_talk):
    from talks.models import TalkParty
    from tests.factories import PartyFactory

    TalkParty.objects.create(
        talk=small_talk.talk, party=PartyFactory(name="East"), role=TalkParty.Role.PRINCIPAL
    )
    summaries = GapSummary.objects.filter(issue__talk=small_talk.talk)
    assert summaries.count() == 6
    assert all(s.pending and s.requested_rev == 1 for s in summaries)
