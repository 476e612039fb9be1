"""The position pages: scale-fitting widgets, inline errors, and conflict-safe saving."""

import re

import pytest
from django.urls import reverse
from django.utils.html import escape

from issues import gaps
from positions.models import Interface, Position, PositionRevision, Source
from positions.services import NOTE_REQUIRED, PositionInput, position_update
from tests.factories import SourceFactory
from tests.fixtures import record

pytestmark = pytest.mark.django_db


def new_url(key: str) -> str:
    return reverse("talks:position_new", args=["small", key])


def edit_url(position: Position) -> str:
    return reverse("talks:position_edit", args=["small", position.pk])


def form_data(**values) -> dict:
    data = {
        "priority": "3",
        "confidence": "medium",
        "status": "stated",
        "rationale": "",
        "conditions": "",
        "note": "first reading of the talks",
        "new_source_reliability": "unknown",
    }
    data.update({k: v for k, v in values.items() if v is not None})
    return data


def input_value(content: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', content)
    if match is None:
        return None
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else ""


# --- Widgets that fit the scale ------------------------------------------------------------------


def test_a_numeric_issue_gets_number_inputs_with_bounds_and_unit(client, small_talk):
    client.force_login(small_talk.analyst)
    content = client.get(new_url("truce")).content.decode()
    demand = re.search(r'<input[^>]*name="demand"[^>]*>', content).group(0)
    assert 'type="number"' in demand
    assert 'min="0"' in demand
    assert 'max="100"' in demand
    assert 'step="any"' in demand
    assert '<span class="unit">days</span>' in content
    assert "a number from 0 to 100 days" in content
    assert 'name="acceptable"' not in content


def test_an_ordinal_issue_gets_ordered_option_selects(client, small_talk):
    client.force_login(small_talk.analyst)
    content = client.get(new_url("pullback")).content.decode()
    select = re.search(r'<select name="demand".*?</select>', content, re.S).group(0)
    assert re.findall(r'<option value="([^"]*)"', select) == ["", "none", "some", "most", "all"]
    assert '<select name="red_line"' in content
    assert 'name="acceptable"' not in content


def test_a_categorical_issue_gets_a_checkbox_per_option_for_its_red_line(client, small_talk):
    client.force_login(small_talk.analyst)
    content = client.get(new_url("rule")).content.decode()
    boxes = re.findall(r'<input type="checkbox" name="acceptable" value="([^"]*)"', content)
    assert boxes == ["a", "b", "c"]
    assert 'name="red_line"' not in content
    assert "<legend>Acceptable options (red line)</legend>" in content


def test_the_party_and_layer_come_preselected_from_the_dashboard_link(client, small_talk):
    st = small_talk
    client.force_login(st.analyst)
    content = client.get(new_url("truce"), {"party": st.south.pk, "layer": "assessed"}).content
    content = content.decode()
    assert f'<option value="{st.south.pk}" selected>South (principal)</option>' in content
    assert '<option value="assessed" selected>' in content


# --- Create ------------------------------------------------------------------------------------


def test_an_analyst_records_a_position_through_the_service(client, small_talk):
    st = small_talk
    client.force_login(st.analyst)
    response = client.post(
        new_url("truce"),
        form_data(party=st.north.pk, layer="declared", demand="12.5", red_line="45"),
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("talks:issue", args=["small", "truce"])
    position = Position.objects.get(issue=st.numeric, party=st.north, layer="declared")
    assert (position.demand_value, position.red_line_value) == (12.5, 45.0)
    revision = position.revisions.get()
    assert (revision.via, revision.by, revision.note) == (
        Interface.WEB,
        st.analyst,
        "first reading of the talks",
    )


def test_a_categorical_position_is_recorded_with_its_acceptable_set(client, small_talk):
    st = small_talk
    client.force_login(st.analyst)
    data = form_data(party=st.south.pk, layer="assessed", demand="b")
    data["acceptable"] = ["b", "c"]
    assert client.post(new_url("rule"), data).status_code == 302
    position = Position.objects.get(issue=st.categorical, party=st.south, layer="assessed")
    assert sorted(o.key for o in position.acceptable_options.all()) == ["b", "c"]


def test_a_value_off_the_scale_is_refused_inline_and_nothing_is_saved(client, small_talk):
    st = small_talk
    client.force_login(st.analyst)
    response = client.post(
        new_url("truce"),
        form_data(
            party=st.north.pk,
            layer="declared",
            demand="250",
            red_line="40",
            rationale="typed with care",
        ),
    )
    assert response.status_code == 200
    content = response.content.decode()
    error = re.search(r'<ul class="errorlist" id="id_demand_error">(.*?)</ul>', content, re.S)
    assert escape(gaps.OUTSIDE_SCALE) in error.group(1)
    assert input_value(content, "demand") == "250"  # what was typed stays
    assert input_value(content, "red_line") == "40"
    assert "typed with care</textarea>" in content
    assert 'aria-invalid="true"' in re.search(r'<input[^>]*name="demand"[^>]*>', content).group(0)
    assert "Nothing was saved." in content
    assert not Position.objects.exists()
    assert not PositionRevision.objects.exists()


def test_a_missing_note_and_a_missing_red_line_are_each_reported_at_their_field(client, small_talk):
    st = small_talk
    client.force_login(st.analyst)
    data = form_data(party=st.north.pk, layer="declared", demand="none", note="  ")
    response = client.post(new_url("pullback"), data)
    content = response.content.decode()
    note_error = re.search(r'id="id_note_error">(.*?)</ul>', content, re.S).group(1)
    assert escape(NOTE_REQUIRED) in note_error
    red_line_error = re.search(r'id="id_red_line_error">(.*?)</ul>', content, re.S).group(1)
    assert escape(gaps.RED_LINE_REQUIRED) in red_line_error
    assert not Position.objects.exists()


def test_a_categorical_demand_outside_its_acceptable_set_is_refused(client, small_talk):
    st = small_talk
    client.force_login(st.analyst)
    data = form_data(party=st.north.pk, layer="declared", demand="a")
    data["acceptable"] = ["b"]
    content = client.post(new_url("rule"), data).content.decode()
    assert escape(gaps.DEMAND_NOT_ACCEPTABLE) in content
    assert re.search(r'value="b"[^>]*checked', content)  # the ticked box stays ticked
    assert not Position.objects.exists()


def test_a_position_that_already_exists_is_not_overwritten_by_a_create(client, filled_talk):
    st = filled_talk
    client.force_login(st.analyst)
    response = client.post(
        new_url("truce"), form_data(party=st.north.pk, layer="declared", demand="1", red_line="2")
    )
    assert response.status_code == 200
    assert "already has a declared position" in response.content.decode()
    assert st.numeric.positions.get(party=st.north, layer="declared").red_line_value == 40


def test_a_new_source_is_created_with_the_position_and_cited(client, small_talk):
    st = small_talk
    client.force_login(st.analyst)
    data = form_data(
        party=st.north.pk,
        layer="declared",
        demand="10",
        red_line="20",
        new_source_title="Briefing by the mediators",
        new_source_url="https://example.org/briefing",
        new_source_reliability="high",
    )
    assert client.post(new_url("truce"), data).status_code == 302
    source = Source.objects.get(title="Briefing by the mediators")
    assert source.reliability == "high"
    assert source.talk == st.talk
    assert list(Position.objects.get().sources.all()) == [source]


def test_a_bad_new_source_saves_neither_it_nor_the_position(client, small_talk):
    st = small_talk
    client.force_login(st.analyst)
    data = form_data(
        party=st.north.pk,
        layer="declared",
        demand="10",
        red_line="20",
        new_source_title="Unreadable link",
        new_source_url="not a url",
    )
    response = client.post(new_url("truce"), data)
    assert response.status_code == 200
    content = response.content.decode()
    assert re.search(r'id="id_new_source_url_error">.*?valid URL', content, re.S)
    assert input_value(content, "new_source_title") == "Unreadable link"
    assert '<details class="new-source" open>' in content
    assert not Source.objects.exists()
    assert not Position.objects.exists()


def test_an_invalid_position_with_a_valid_new_source_creates_no_source(client, small_talk):
    st = small_talk
    client.force_login(st.analyst)
    data = form_data(
        party=st.north.pk, layer="declared", demand="500", red_line="20", new_source_title="Fine"
    )
    assert client.post(new_url("truce"), data).status_code == 200
    assert not Source.objects.exists()


# --- Edit and conflicts ------------------------------------------------------------------------


def test_the_edit_form_starts_from_the_saved_values_and_version(client, filled_talk):
    st = filled_talk
    position = st.numeric.positions.get(party=st.north, layer="declared")
    client.force_login(st.analyst)
    content = client.get(edit_url(position)).content.decode()
    assert input_value(content, "demand") == "10"
    assert input_value(content, "red_line") == "40"
    assert input_value(content, "based_on_version") == "1"
    assert 'name="party"' not in content  # who and which layer are fixed once recorded


def test_an_edit_saves_a_new_version(client, filled_talk):
    st = filled_talk
    position = st.numeric.positions.get(party=st.north, layer="declared")
    client.force_login(st.analyst)
    response = client.post(
        edit_url(position),
        form_data(demand="10", red_line="48", based_on_version="1", note="moved after talks"),
    )
    assert response.status_code == 302
    position.refresh_from_db()
    assert (position.version, position.red_line_value) == (2, 48)


def test_a_stale_edit_shows_both_versions_and_overwrites_nothing(client, filled_talk):
    st = filled_talk
    position = st.numeric.positions.get(party=st.north, layer="declared")
    position_update(
        position=position,
        based_on_version=1,
        data=PositionInput(demand=10, red_line=40, rationale="Their new reasoning"),
        by=st.mediator,
        via=Interface.API,
        note="their edit",
    )
    client.force_login(st.analyst)
    response = client.post(
        edit_url(position),
        form_data(demand="10", red_line="55", based_on_version="1", note="my edit"),
    )
    assert response.status_code == 200
    position.refresh_from_db()
    assert (position.version, position.red_line_value) == (2, 40)  # theirs stays
    assert position.rationale == "Their new reasoning"

    content = response.content.decode()
    assert "Someone else saved this position first" in content
    rows = {
        m.group(1): m.group(0)
        for m in re.finditer(r'<tr class="[^"]*" data-field="(\w+)">.*?</tr>', content, re.S)
    }
    assert 'class="differs' in rows["red_line"][:40]
    assert "40 days" in rows["red_line"]
    assert "55 days" in rows["red_line"]
    assert 'class="differs' in rows["rationale"][:40]
    assert 'class="same' in rows["demand"][:40]
    assert "their edit" in content
    assert "small-mediator" in content
    # The re-apply form: my red line on top of their rationale, at their version.
    assert input_value(content, "red_line") == "55"
    assert input_value(content, "based_on_version") == "2"
    assert "Their new reasoning</textarea>" in content
    assert "my edit</textarea>" in content

    response = client.post(
        edit_url(position),
        form_data(
            demand="10",
            red_line="55",
            rationale="Their new reasoning",
            based_on_version="2",
            note="my edit",
        ),
    )
    assert response.status_code == 302
    position.refresh_from_db()
    assert (position.version, position.red_line_value, position.rationale) == (
        3,
        55,
        "Their new reasoning",
    )


def test_when_both_change_the_same_field_the_form_holds_mine(client, filled_talk):
    st = filled_talk
    position = st.numeric.positions.get(party=st.north, layer="declared")
    position_update(
        position=position,
        based_on_version=1,
        data=PositionInput(demand=10, red_line=45),
        by=st.mediator,
        via=Interface.WEB,
        note="theirs",
    )
    client.force_login(st.analyst)
    response = client.post(
        edit_url(position), form_data(demand="10", red_line="52", based_on_version="1")
    )
    content = response.content.decode()
    assert "You both changed: <strong>Red line</strong>" in content
    assert input_value(content, "red_line") == "52"


def test_a_position_withdrawn_meanwhile_offers_to_record_it_again(client, filled_talk):
    from positions.services import position_delete

    st = filled_talk
    position = st.numeric.positions.get(party=st.north, layer="declared")
    position_delete(position=position, based_on_version=1, by=st.mediator, via="web", note="gone")
    client.force_login(st.analyst)
    response = client.post(
        edit_url(position), form_data(demand="10", red_line="52", based_on_version="1")
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "the position has since been withdrawn" in content
    assert f'action="{new_url("truce")}"' in content
    assert f'<option value="{st.north.pk}" selected>' in content
    assert Position.objects.get(pk=position.pk).is_deleted


def test_opening_the_editor_of_a_withdrawn_position_leads_to_recording_it_again(
    client, filled_talk
):
    from positions.services import position_delete

    st = filled_talk
    position = st.numeric.positions.get(party=st.north, layer="declared")
    position_delete(position=position, based_on_version=1, by=st.analyst, via="web", note="gone")
    client.force_login(st.analyst)
    response = client.get(edit_url(position))
    assert response.status_code == 302
    assert response["Location"].startswith(new_url("truce"))


def test_a_position_of_another_talk_is_404(client, filled_talk):
    from tests.factories import IssueFactory, TalkPartyFactory

    st = filled_talk
    other_talk = st.outsider.memberships.get().talk
    TalkPartyFactory(talk=other_talk, party=st.north)
    other_issue = IssueFactory(talk=other_talk)
    other = record(st, other_issue, st.north, demand=1, red_line=2)
    client.force_login(st.analyst)
    assert client.get(edit_url(other)).status_code == 404


# --- Withdraw ----------------------------------------------------------------------------------


def test_withdrawing_needs_a_note_and_keeps_the_history(client, filled_talk):
    st = filled_talk
    position = st.numeric.positions.get(party=st.north, layer="declared")
    url = reverse("talks:position_withdraw", args=["small", position.pk])
    client.force_login(st.analyst)
    response = client.post(url, {"based_on_version": "1", "note": ""})
    assert response.status_code == 200
    assert escape(NOTE_REQUIRED) in response.content.decode()
    assert not Position.objects.get(pk=position.pk).is_deleted
    response = client.post(url, {"based_on_version": "1", "note": "North left the table"})
    assert response.status_code == 302
    position.refresh_from_db()
    assert position.is_deleted
    assert position.revisions.count() == 2


def test_a_stale_withdrawal_is_refused_and_shows_what_changed(client, filled_talk):
    st = filled_talk
    position = st.numeric.positions.get(party=st.north, layer="declared")
    position_update(
        position=position,
        based_on_version=1,
        data=PositionInput(demand=10, red_line=45),
        by=st.mediator,
        via=Interface.WEB,
        note="a fresh concession",
    )
    client.force_login(st.analyst)
    url = reverse("talks:position_withdraw", args=["small", position.pk])
    response = client.post(url, {"based_on_version": "1", "note": "withdraw"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "a fresh concession" in content
    assert input_value(content, "based_on_version") == "2"
    assert "withdraw</textarea>" in content
    assert not Position.objects.get(pk=position.pk).is_deleted


def test_sources_of_the_talk_are_offered_as_checkboxes(client, filled_talk):
    st = filled_talk
    SourceFactory(talk=st.talk, title="Communiqué", publisher="Mediators")
    SourceFactory(title="Somebody else's source")
    client.force_login(st.analyst)
    content = client.get(new_url("truce")).content.decode()
    assert "Communiqué — Mediators" in content
    assert "Somebody else" not in content


# --- Linked conditions -------------------------------------------------------------------------


def test_an_edit_keeps_the_linked_conditions_it_does_not_touch(client, small_talk):
    from positions.services import LinkInput

    st = small_talk
    position = record(
        st,
        st.numeric,
        st.north,
        demand=10,
        red_line=40,
        links=(LinkInput("rule", frozenset({"a", "b"})), LinkInput("pullback", frozenset({"all"}))),
    )
    client.force_login(st.analyst)
    content = client.get(edit_url(position)).content.decode()
    assert re.search(r'value="rule:a" checked', content)
    assert re.search(r'<option value="rule" data-kind="categorical" selected>', content)
    data = form_data(demand="10", red_line="40", based_on_version="1", note="no change")
    data.update(
        {
            "link-0-issue": "pullback",
            "link-0-options": ["pullback:all"],
            "link-1-issue": "rule",
            "link-1-options": ["rule:a", "rule:b", "pullback:none"],  # another issue's box: ignored
            "link-2-issue": "",
        }
    )
    response = client.post(edit_url(position), data)
    assert response.status_code == 302
    position.refresh_from_db()
    assert position.version == 1  # nothing changed, so nothing was saved
    assert position.links == [
        {"issue": "pullback", "options": ["all"]},
        {"issue": "rule", "options": ["a", "b"]},
    ]


def test_a_linked_condition_is_added_from_the_form(client, small_talk):
    st = small_talk
    client.force_login(st.analyst)
    data = form_data(party=st.north.pk, layer="declared", demand="none", red_line="some")
    data.update({"link-0-issue": "truce", "link-0-low": "30", "link-0-high": "90"})
    assert client.post(new_url("pullback"), data).status_code == 302
    position = Position.objects.get(issue=st.ordinal)
    assert position.links == [{"issue": "truce", "low": 30.0, "high": 90.0}]


def test_a_bad_linked_condition_is_refused_inline_and_kept(client, small_talk):
    st = small_talk
    client.force_login(st.analyst)
    data = form_data(party=st.north.pk, layer="declared", demand="none", red_line="some")
    data.update({"link-0-issue": "truce", "link-0-low": "30", "link-0-high": ""})
    response = client.post(new_url("pullback"), data)
    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="id_links_error"' in content
    assert "Condition 1: give both ends of the range on Truce" in content
    assert 'name="link-0-low" id="link-0-low" value="30"' in content
    data.update({"link-0-issue": "rule", "link-0-options": []})
    response = client.post(new_url("pullback"), data)
    assert response.status_code == 200
    assert re.search(r'id="id_links_error">.*?Rule', response.content.decode(), re.S)
    assert not Position.objects.exists()
