import pytest
from django.core.exceptions import ValidationError

from issues import gaps
from issues.models import GapSummary
from issues.services import gap_recompute_send
from positions.models import Interface, Position, PositionRevision
from positions.services import (
    NOTE_REQUIRED,
    PARTY_NOT_IN_TALK,
    PositionConflict,
    PositionInput,
    position_create,
    position_delete,
    position_update,
)
from tests.factories import IssueFactory, PartyFactory, SourceFactory, add_options

pytestmark = pytest.mark.django_db


def create(st, issue, party, data, layer="declared", note="first estimate"):
    return position_create(
        issue=issue,
        party=party,
        layer=layer,
        data=data,
        by=st.analyst,
        via=Interface.WEB,
        note=note,
    )


def test_create_saves_version_one_and_a_revision_with_who_how_and_why(small_talk):
    st = small_talk
    source = SourceFactory(talk=st.talk)
    position = create(
        st,
        st.numeric,
        st.north,
        PositionInput(demand=10, red_line=40, priority=4, source_ids=(source.pk,)),
    )
    assert position.version == 1
    assert (position.demand_value, position.red_line_value) == (10.0, 40.0)
    revision = PositionRevision.objects.get(position=position)
    assert revision.version == 1
    assert revision.action == "create"
    assert revision.by == st.analyst
    assert revision.via == "web"
    assert revision.note == "first estimate"
    assert revision.snapshot["demand"] == 10.0
    assert revision.snapshot["sources"] == [source.pk]
    assert revision.changes["red_line"] == [None, 40.0]


def test_update_increments_the_version_and_records_what_changed(small_talk):
    st = small_talk
    position = create(st, st.numeric, st.north, PositionInput(demand=10, red_line=40))
    updated = position_update(
        position=position,
        based_on_version=1,
        data=PositionInput(demand=10, red_line=55),
        by=st.analyst,
        via=Interface.API,
        note="moved after round 2",
    )
    assert updated.version == 2
    assert Position.objects.get(pk=position.pk).red_line_value == 55.0
    latest = PositionRevision.objects.get(position=position, version=2)
    assert latest.changes == {"red_line": [40.0, 55.0]}
    assert latest.via == "api"


def test_stale_version_is_refused_naming_the_current_one_and_nothing_is_saved(small_talk):
    st = small_talk
    position = create(st, st.numeric, st.north, PositionInput(demand=10, red_line=40))
    position_update(
        position=position,
        based_on_version=1,
        data=PositionInput(demand=10, red_line=50),
        by=st.analyst,
        via=Interface.WEB,
        note="first editor",
    )
    with pytest.raises(PositionConflict) as excinfo:
        position_update(
            position=position,
            based_on_version=1,
            data=PositionInput(demand=10, red_line=20),
            by=st.mediator,
            via=Interface.WEB,
            note="second editor, stale",
        )
    assert excinfo.value.current_version == 2
    assert "current version is 2" in str(excinfo.value)
    position.refresh_from_db()
    assert position.red_line_value == 50.0
    assert position.version == 2
    assert PositionRevision.objects.filter(position=position).count() == 2


def test_an_update_that_changes_nothing_makes_no_new_version(small_talk):
    st = small_talk
    position = create(st, st.numeric, st.north, PositionInput(demand=10, red_line=40))
    same = position_update(
        position=position,
        based_on_version=1,
        data=PositionInput(demand=10.0, red_line=40),
        by=st.analyst,
        via=Interface.WEB,
        note="no change",
    )
    assert same.version == 1
    assert PositionRevision.objects.filter(position=position).count() == 1


@pytest.mark.parametrize(
    ("issue_attr", "data", "field", "message"),
    [
        ("numeric", PositionInput(demand=10, red_line=140), "red_line", None),
        ("numeric", PositionInput(demand=-5, red_line=40), "demand", None),
        ("ordinal", PositionInput(demand="most", red_line="bogus"), "red_line", None),
        (
            "categorical",
            PositionInput(demand="a", acceptable=frozenset({"b", "c"})),
            "demand",
            gaps.DEMAND_NOT_ACCEPTABLE,
        ),
        (
            "categorical",
            PositionInput(demand="a", acceptable=frozenset()),
            "acceptable",
            gaps.ACCEPTABLE_REQUIRED,
        ),
        ("numeric", PositionInput(demand=10, red_line=40, priority=7), "priority", None),
    ],
    ids=[
        "red-line-outside-scale",
        "demand-outside-scale",
        "unknown-option",
        "demand-outside-acceptable-set",
        "empty-categorical-red-line",
        "priority-out-of-range",
    ],
)
def test_bad_input_raises_a_message_per_field_and_nothing_is_saved(
    small_talk, issue_attr, data, field, message
):
    st = small_talk
    issue = getattr(st, issue_attr)
    with pytest.raises(ValidationError) as excinfo:
        create(st, issue, st.north, data)
    errors = excinfo.value.message_dict
    assert field in errors, errors
    if message:
        assert errors[field] == [message]
    assert not Position.objects.exists()
    assert not PositionRevision.objects.exists()
    assert GapSummary.objects.get(issue=issue, layer="declared").requested_rev == 0


def test_an_option_of_another_issue_is_refused(small_talk):
    st = small_talk
    other = IssueFactory(
        talk=st.talk, key="other", scale_kind="ordinal", scale_min=None, scale_max=None
    )
    add_options(other, "x", "y")
    with pytest.raises(ValidationError) as excinfo:
        create(st, st.ordinal, st.north, PositionInput(demand="x", red_line="none"))
    assert "demand" in excinfo.value.message_dict
    assert not Position.objects.exists()


def test_a_demand_outside_its_own_interval_is_impossible_but_either_order_is_fine(small_talk):
    """Numeric and ordinal acceptable sets run between demand and red line, in either order."""
    st = small_talk
    low_first = create(st, st.numeric, st.north, PositionInput(demand=10, red_line=40))
    high_first = create(st, st.numeric, st.south, PositionInput(demand=90, red_line=60))
    assert low_first.version == high_first.version == 1


def test_a_party_outside_the_talk_and_an_empty_note_are_refused(small_talk):
    st = small_talk
    stranger = PartyFactory(name="Stranger")
    with pytest.raises(ValidationError) as excinfo:
        create(st, st.numeric, stranger, PositionInput(demand=10, red_line=40), note="  ")
    errors = excinfo.value.message_dict
    assert errors["party"] == [PARTY_NOT_IN_TALK.format(party=stranger)]
    assert errors["note"] == [NOTE_REQUIRED]
    assert not Position.objects.exists()


def test_a_second_position_for_the_same_party_issue_and_layer_is_refused(small_talk):
    st = small_talk
    create(st, st.numeric, st.north, PositionInput(demand=10, red_line=40))
    with pytest.raises(ValidationError) as excinfo:
        create(st, st.numeric, st.north, PositionInput(demand=20, red_line=40))
    assert "party" in excinfo.value.message_dict
    assert Position.objects.count() == 1
    # The other layer is a different position.
    create(st, st.numeric, st.north, PositionInput(demand=10, red_line=60), layer="assessed")
    assert Position.objects.count() == 2


def test_delete_keeps_the_history_and_a_new_create_revives_the_row(small_talk):
    st = small_talk
    position = create(st, st.numeric, st.north, PositionInput(demand=10, red_line=40))
    position_delete(
        position=position, based_on_version=1, by=st.analyst, via=Interface.WEB, note="withdrawn"
    )
    position.refresh_from_db()
    assert position.is_deleted
    assert position.version == 2
    assert not Position.objects.current().exists()
    revived = create(st, st.numeric, st.north, PositionInput(demand=15, red_line=45))
    assert revived.pk == position.pk
    assert revived.version == 3
    actions = list(
        PositionRevision.objects.filter(position=position)
        .order_by("version")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "delete", "create"]


def test_a_stale_delete_is_refused(small_talk):
    st = small_talk
    position = create(st, st.numeric, st.north, PositionInput(demand=10, red_line=40))
    position_update(
        position=position,
        based_on_version=1,
        data=PositionInput(demand=12, red_line=40),
        by=st.analyst,
        via=Interface.WEB,
        note="edit",
    )
    with pytest.raises(PositionConflict):
        position_delete(
            position=position,
            based_on_version=1,
            by=st.analyst,
            via=Interface.WEB,
            note="stale delete",
        )
    assert Position.objects.current().filter(pk=position.pk).exists()


def test_a_write_marks_the_summary_pending_and_schedules_one_recomputation_after_commit(
    small_talk, django_capture_on_commit_callbacks
):
    st = small_talk
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        create(st, st.numeric, st.north, PositionInput(demand=10, red_line=40))
        create(st, st.numeric, st.south, PositionInput(demand=90, red_line=60))
    summary = GapSummary.objects.get(issue=st.numeric, layer="declared")
    assert summary.pending
    assert summary.requested_rev == 2
    assert summary.computed_rev == 0
    # The second write found the summary pending already: one task for both.
    sends = [c for c in callbacks if getattr(c, "func", None) is gap_recompute_send]
    assert len(sends) == 1
    assert GapSummary.objects.get(issue=st.numeric, layer="assessed").requested_rev == 0


def test_with_tasks_in_process_the_summary_is_current_after_commit(
    small_talk, django_capture_on_commit_callbacks
):
    st = small_talk
    with django_capture_on_commit_callbacks(execute=True):
        create(st, st.numeric, st.north, PositionInput(demand=10, red_line=40))
        create(st, st.numeric, st.south, PositionInput(demand=90, red_line=60))
    summary = GapSummary.objects.get(issue=st.numeric, layer="declared")
    assert not summary.pending
    assert summary.computed_rev == summary.requested_rev == 2
    assert summary.status == "gap"
    assert summary.gap == pytest.approx(0.2)
