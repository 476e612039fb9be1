import pytest
from django.contrib import admin
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_pages_need_a_sign_in(client):
    response = client.get(reverse("talks:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_talk_list_shows_only_the_users_talks(client, small_talk):
    client.force_login(small_talk.viewer)
    response = client.get(reverse("talks:list"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Small talk" in content
    assert "Other talk" not in content


def test_a_non_member_gets_404_for_another_talks_pages(client, small_talk):
    client.force_login(small_talk.outsider)
    assert client.get(reverse("talks:dashboard", args=["small"])).status_code == 404
    assert client.get(reverse("talks:issue", args=["small", "truce"])).status_code == 404
    assert client.get(reverse("talks:dashboard", args=["no-such-talk"])).status_code == 404


def test_the_demo_talk_is_listed_with_its_zone_and_gap_counts(client, demo):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="mediator"))
    response = client.get(reverse("talks:list"))
    talk = response.context["talks"][0]
    assert talk.title == "Gaza ceasefire talks"
    # Declared: only the prisoner ratio has a zone (50 to 60 per hostage).
    assert (talk.issue_count, talk.zone_count, talk.gap_count) == (5, 1, 4)


def test_every_admin_page_opens_for_staff(client, demo):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="admin"))
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        response = client.get(changelist, {"q": "a"} if model_admin.search_fields else {})
        assert response.status_code == 200, changelist
        obj = model.objects.first()
        if obj is not None:
            change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
            assert client.get(change).status_code == 200, change


def test_the_position_admin_shows_revisions_read_only(client, demo):
    from django.contrib.auth import get_user_model

    from positions.models import Position

    client.force_login(get_user_model().objects.get(username="admin"))
    position = Position.objects.filter(issue__key="withdrawal", layer="declared").first()
    response = client.get(reverse("admin:positions_position_change", args=[position.pk]))
    content = response.content.decode()
    assert "Loaded from the demo brief." in content
    assert 'name="revisions-0-note"' not in content  # shown, not editable
    post = client.post(reverse("admin:positions_position_change", args=[position.pk]), {})
    assert post.status_code == 403
