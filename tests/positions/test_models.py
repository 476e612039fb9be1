import pytest
from django.db import IntegrityError, connection, transaction

from positions.models import AppendOnlyError, Interface, Position, PositionRevision
from positions.services import PositionInput, position_create
from tests.factories import IssueFactory, PartyFactory, add_options

pytestmark = pytest.mark.django_db


@pytest.fixture
def revision(small_talk):
    st = small_talk
    position = position_create(
        issue=st.numeric,
        party=st.north,
        layer="declared",
        data=PositionInput(demand=10, red_line=40),
        by=st.analyst,
        via=Interface.WEB,
        note="initial",
    )
    return PositionRevision.objects.get(position=position)


def test_revisions_cannot_be_changed_or_deleted_through_the_app(revision):
    revision.note = "rewritten"
    with pytest.raises(AppendOnlyError):
        revision.save()
    with pytest.raises(AppendOnlyError):
        revision.delete()
    with pytest.raises(AppendOnlyError):
        PositionRevision.objects.filter(pk=revision.pk).update(note="rewritten")
    with pytest.raises(AppendOnlyError):
        PositionRevision.objects.filter(pk=revision.pk).delete()
    revision.refresh_from_db()
    assert revision.note == "initial"


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE positions_positionrevision SET note = 'rewritten'",
        "DELETE FROM positions_positionrevision",
    ],
)
def test_postgres_refuses_update_and_delete_of_revisions(revision, sql):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL")
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert PositionRevision.objects.filter(pk=revision.pk, note="initial").exists()


def test_the_database_refuses_an_option_of_another_issue(small_talk):
    st = small_talk
    other = IssueFactory(
        talk=st.talk, key="other", scale_kind="ordinal", scale_min=None, scale_max=None
    )
    (foreign, *_) = add_options(other, "x", "y")
    with pytest.raises(IntegrityError), transaction.atomic():
        Position.objects.create(
            issue=st.ordinal,
            party=st.north,
            layer="declared",
            demand_option=foreign,
            updated_at="2026-01-01T00:00:00Z",
            updated_via="web",
        )


def test_the_database_refuses_a_party_outside_the_talk(small_talk):
    st = small_talk
    stranger = PartyFactory(name="Stranger")
    with pytest.raises(IntegrityError), transaction.atomic():
        Position.objects.create(
            issue=st.numeric,
            party=stranger,
            layer="declared",
            demand_value=5,
            updated_at="2026-01-01T00:00:00Z",
            updated_via="web",
        )


@pytest.mark.parametrize(
    "fields",
    [
        {"priority": 0},
        {"priority": 6},
        {"layer": "rumoured"},
        {"demand_value": None},
    ],
    ids=["priority-0", "priority-6", "unknown-layer", "no-demand"],
)
def test_the_database_holds_position_invariants(small_talk, fields):
    st = small_talk
    values = {
        "issue": st.numeric,
        "party": st.north,
        "layer": "declared",
        "demand_value": 5,
        "updated_at": "2026-01-01T00:00:00Z",
        "updated_via": "web",
        **fields,
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        Position.objects.create(**values)


def test_one_current_position_per_issue_party_and_layer(small_talk):
    st = small_talk
    values = {
        "issue": st.numeric,
        "party": st.north,
        "layer": "declared",
        "demand_value": 5,
        "updated_at": "2026-01-01T00:00:00Z",
        "updated_via": "web",
    }
    Position.objects.create(**values)
    with pytest.raises(IntegrityError), transaction.atomic():
        Position.objects.create(**values)
