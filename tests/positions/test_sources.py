import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from positions.models import Interface, Source
from positions.services import (
    SOURCE_IN_USE,
    PositionInput,
    SourceConflict,
    SourceInput,
    position_create,
    position_delete,
    source_create,
    source_delete,
    source_update,
)

pytestmark = pytest.mark.django_db


def test_a_source_is_created_with_its_author_and_version_one(small_talk):
    source = source_create(
        talk=small_talk.talk,
        data=SourceInput(
            title="Communique",
            url="https://example.org/c",
            published_on=dt.date(2026, 10, 1),
            reliability="high",
        ),
        by=small_talk.analyst,
    )
    assert (source.version, source.created_by, source.reliability) == (
        1,
        small_talk.analyst,
        "high",
    )


def test_bad_source_fields_are_reported_per_field_and_nothing_is_saved(small_talk):
    with pytest.raises(ValidationError) as exc:
        source_create(
            talk=small_talk.talk,
            data=SourceInput(title="", url="not a url", reliability="certain"),
            by=None,
        )
    assert {"title", "url", "reliability"} <= set(exc.value.message_dict)
    assert not Source.objects.exists()


def test_a_stale_source_edit_is_refused(small_talk):
    source = source_create(talk=small_talk.talk, data=SourceInput(title="A"), by=None)
    source_update(source=source, based_on_version=1, data=SourceInput(title="B"), by=None)
    with pytest.raises(SourceConflict) as exc:
        source_update(source=source, based_on_version=1, data=SourceInput(title="C"), by=None)
    assert exc.value.current_version == 2
    assert Source.objects.get(pk=source.pk).title == "B"


def test_a_cited_source_cannot_be_deleted_until_the_position_is_withdrawn(small_talk):
    st = small_talk
    source = source_create(talk=st.talk, data=SourceInput(title="Brief"), by=None)
    position = position_create(
        issue=st.numeric,
        party=st.north,
        layer="declared",
        data=PositionInput(demand=10, red_line=40, source_ids=(source.pk,)),
        by=st.analyst,
        via=Interface.WEB,
        note="first",
    )
    with pytest.raises(ValidationError) as exc:
        source_delete(source=source, based_on_version=1, by=None)
    assert exc.value.message_dict["source"] == [SOURCE_IN_USE.format(count=1)]
    position_delete(position=position, based_on_version=1, by=st.analyst, via="web", note="gone")
    source_delete(source=source, based_on_version=1, by=None)
    assert not Source.objects.filter(pk=source.pk).exists()
