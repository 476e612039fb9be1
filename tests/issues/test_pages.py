"""Analysts manage a talk's issues and their options from the browser."""

import re

import pytest
from django.urls import reverse
from django.utils.html import escape

from issues import gaps
from issues.models import Issue
from issues.services import OPTION_IN_USE, IssueChanges, issue_update

pytestmark = pytest.mark.django_db


def issue_data(**values) -> dict:
    data = {
        "title": "Aid trucks",
        "key": "aid",
        "description": "",
        "priority": "3",
        "order": "5",
        "scale_kind": "numeric",
        "scale_min": "0",
        "scale_max": "600",
        "unit": "trucks/day",
        "max_label": "",
        "options": "",
    }
    data.update(values)
    return data


def test_an_analyst_creates_a_numeric_issue(client, small_talk):
    client.force_login(small_talk.analyst)
    response = client.post(reverse("talks:issue_new", args=["small"]), issue_data())
    assert response.status_code == 302
    issue = Issue.objects.get(talk=small_talk.talk, key="aid")
    assert (issue.scale_min, issue.scale_max, issue.unit) == (0, 600, "trucks/day")
    assert issue.gap_summaries.count() == 2  # one per layer, made by the service
    assert response["Location"] == reverse("talks:issue", args=["small", "aid"])


def test_an_ordinal_issue_takes_its_options_one_per_line(client, small_talk):
    client.force_login(small_talk.analyst)
    data = issue_data(
        key="inspection",
        scale_kind="ordinal",
        scale_min="",
        scale_max="",
        unit="",
        options="every load\nsample | a random sample\n\nnone at all",
    )
    assert client.post(reverse("talks:issue_new", args=["small"]), data).status_code == 302
    issue = Issue.objects.get(key="inspection")
    assert [(o.key, o.label) for o in issue.options.order_by("order")] == [
        ("every-load", "every load"),
        ("sample", "a random sample"),
        ("none-at-all", "none at all"),
    ]


def test_bad_issue_input_is_shown_inline_and_kept(client, small_talk):
    client.force_login(small_talk.analyst)
    url = reverse("talks:issue_new", args=["small"])
    response = client.post(url, issue_data(scale_min="10", scale_max="5", title="Kept title"))
    assert response.status_code == 200
    content = response.content.decode()
    assert re.search(
        r'id="id_scale_max_error">.*?' + re.escape(escape(gaps.SCALE_BOUNDS_ORDER)), content, re.S
    )
    assert 'value="Kept title"' in content
    one_option = issue_data(scale_kind="categorical", scale_min="", scale_max="", options="only")
    response = client.post(url, one_option)
    assert escape("A scale of options needs at least two options.") in response.content.decode()
    taken = client.post(url, issue_data(key="truce"))
    assert taken.status_code == 200
    assert not Issue.objects.filter(key="aid").exists()


def test_an_issue_edit_is_saved_with_a_new_version(client, small_talk):
    issue = small_talk.numeric
    client.force_login(small_talk.analyst)
    url = reverse("talks:issue_edit", args=["small", "truce"])
    content = client.get(url).content.decode()
    assert 'name="based_on_version" value="1"' in content
    data = {
        "title": "Truce length",
        "description": "Days of calm",
        "priority": "5",
        "order": "1",
        "scale_min": "0",
        "scale_max": "365",
        "unit": "days",
        "max_label": "permanent",
        "based_on_version": "1",
    }
    assert client.post(url, data).status_code == 302
    issue.refresh_from_db()
    assert (issue.title, issue.scale_max, issue.max_label, issue.version) == (
        "Truce length",
        365,
        "permanent",
        2,
    )


def test_a_stale_issue_edit_is_refused_with_both_versions_shown(client, small_talk):
    issue = small_talk.numeric
    issue_update(
        issue=issue,
        based_on_version=1,
        changes=IssueChanges(title="Their title", scale_min=0, scale_max=100, unit="days"),
        by=None,
    )
    client.force_login(small_talk.analyst)
    url = reverse("talks:issue_edit", args=["small", "truce"])
    data = {
        "title": "My title",
        "priority": "3",
        "order": "0",
        "scale_min": "0",
        "scale_max": "100",
        "unit": "days",
        "based_on_version": "1",
    }
    response = client.post(url, data)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Someone else changed this issue" in content
    assert "Their title" in content
    assert 'value="My title"' in content
    assert 'name="based_on_version" value="2"' in content
    issue.refresh_from_db()
    assert issue.title == "Their title"


def test_options_are_added_renamed_moved_and_removed(client, small_talk):
    st = small_talk
    client.force_login(st.analyst)
    base = ["small", "pullback"]
    response = client.post(
        reverse("talks:option_add", args=base),
        {"add-key": "half", "add-label": "half", "add-before": "most", "add-based_on_version": "1"},
    )
    assert response.status_code == 302
    keys = lambda: list(st.ordinal.options.order_by("order").values_list("key", flat=True))  # noqa: E731
    assert keys() == ["none", "some", "half", "most", "all"]
    assert (
        client.post(
            reverse("talks:option_edit", args=[*base, "half"]),
            {"label": "about half", "description": "", "based_on_version": "2"},
        ).status_code
        == 302
    )
    assert st.ordinal.options.get(key="half").label == "about half"
    assert (
        client.post(
            reverse("talks:option_move", args=[*base, "half"]),
            {"direction": "up", "based_on_version": "3"},
        ).status_code
        == 302
    )
    assert keys() == ["none", "half", "some", "most", "all"]
    assert (
        client.post(
            reverse("talks:option_delete", args=[*base, "half"]), {"based_on_version": "4"}
        ).status_code
        == 302
    )
    assert keys() == ["none", "some", "most", "all"]


def test_an_option_in_use_is_not_removed_and_the_reason_is_shown(client, filled_talk):
    st = filled_talk
    client.force_login(st.analyst)
    response = client.post(
        reverse("talks:option_delete", args=["small", "pullback", "most"]),
        {"based_on_version": "1"},
    )
    assert response.status_code == 200
    assert escape(OPTION_IN_USE.format(count=1)) in response.content.decode()
    assert st.ordinal.options.filter(key="most").exists()


def test_a_stale_option_change_is_refused_and_the_typed_option_kept(client, small_talk):
    st = small_talk
    client.force_login(st.analyst)
    base = ["small", "pullback"]
    client.post(
        reverse("talks:option_move", args=[*base, "some"]),
        {"direction": "down", "based_on_version": "1"},
    )
    response = client.post(
        reverse("talks:option_add", args=base),
        {
            "add-key": "late",
            "add-label": "typed late",
            "add-before": "",
            "add-based_on_version": "1",
        },
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "Someone else changed this issue" in content
    assert 'value="typed late"' in content
    assert 'name="add-based_on_version" value="2"' in content
    assert not st.ordinal.options.filter(key="late").exists()
    stale_move = client.post(
        reverse("talks:option_move", args=[*base, "none"]),
        {"direction": "down", "based_on_version": "1"},
    )
    assert stale_move.status_code == 200
    assert list(st.ordinal.options.order_by("order").values_list("key", flat=True)) == [
        "none",
        "most",
        "some",
        "all",
    ]


def test_the_manage_page_lists_the_issues(client, small_talk):
    client.force_login(small_talk.analyst)
    content = client.get(reverse("talks:issue_manage", args=["small"])).content.decode()
    for title in ("Truce", "Pullback", "Rule"):
        assert title in content
    assert reverse("talks:issue_new", args=["small"]) in content
