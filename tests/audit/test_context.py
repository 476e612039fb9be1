import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from audit.context import Interface, audit_context, current
from audit.middleware import interface_for
from audit.models import AuditEvent


@pytest.mark.parametrize(
    ("path", "interface"),
    [
        ("/api/talks/", Interface.API),
        ("/admin/talks/talk/", Interface.ADMIN),
        ("/talks/gaza/", Interface.WEB),
        ("/apiary/", Interface.WEB),
        ("/", Interface.WEB),
    ],
)
def test_the_interface_follows_the_path(path, interface):
    assert interface_for(path) == interface


@pytest.mark.django_db
def test_a_response_echoes_a_sane_incoming_request_id(client):
    response = client.get(reverse("login"), HTTP_X_REQUEST_ID="proxy-5f0c2a9e.17")
    assert response["X-Request-ID"] == "proxy-5f0c2a9e.17"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "incoming", [None, "", "short", "x" * 65, "bad id with spaces", "id\u00e9-unicode-123", "-lead"]
)
def test_an_absent_or_odd_request_id_is_replaced_by_a_fresh_one(client, incoming):
    headers = {} if incoming is None else {"HTTP_X_REQUEST_ID": incoming}
    first = client.get(reverse("login"), **headers)["X-Request-ID"]
    second = client.get(reverse("login"), **headers)["X-Request-ID"]
    assert first != incoming
    assert len(first) == 32
    assert int(first, 16) >= 0
    assert first != second


@pytest.mark.django_db
def test_a_sign_in_is_recorded_with_its_request_id_user_and_address(client):
    user = get_user_model().objects.create_user("ana", password="a-long-enough-secret-1")
    response = client.post(
        reverse("login"),
        {"username": "ana", "password": "a-long-enough-secret-1"},
        HTTP_X_REQUEST_ID="signin-req-0001",
        REMOTE_ADDR="203.0.113.7",
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="login")
    assert (event.user, event.username, event.interface) == (user, "ana", Interface.WEB)
    assert (event.request_id, event.ip_address) == ("signin-req-0001", "203.0.113.7")


@pytest.mark.django_db
def test_the_client_address_is_taken_from_the_trusted_proxy_only(client, settings):
    settings.PROXY_COUNT = 1
    get_user_model().objects.create_user("ana", password="a-long-enough-secret-1")
    client.post(
        reverse("login"),
        {"username": "ana", "password": "a-long-enough-secret-1"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.9",  # the first hop is client-made
    )
    assert AuditEvent.objects.get(action="login").ip_address == "203.0.113.9"


@pytest.mark.django_db
def test_a_management_command_writes_under_the_command_interface(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-enough-secret-1")
    call_command(
        "createsuperuser",
        interactive=False,
        username="root",
        email="r@example.org",
        stdout=io.StringIO(),
    )
    event = AuditEvent.objects.get(object_type="auth.user", action="create")
    assert event.interface == Interface.COMMAND
    assert event.request_id.startswith("cmd-")
    assert event.user is None
    assert event.changes["password"] == {"before": None, "after": "[hidden]"}
    assert event.changes["is_superuser"] == {"before": None, "after": True}


def test_a_context_block_overrides_only_what_it_names():
    outer = current()
    with audit_context(interface=Interface.IMPORT) as inner:
        assert inner.interface == Interface.IMPORT
        assert inner.request_id == outer.request_id
        with audit_context(request_id="nested-000001") as nested:
            assert (nested.interface, nested.request_id) == (Interface.IMPORT, "nested-000001")
    assert current() == outer
