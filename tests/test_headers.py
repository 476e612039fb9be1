"""Response headers, the content security policy, throttling and input size limits."""

import re

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from knox.models import AuthToken
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from issues.models import Issue
from issues.services import OptionInput, issue_create
from positions.models import Position
from positions.services import PositionInput, position_create
from tests.api_support import csp
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

REQUIRED_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


@pytest.fixture
def pages(client, small_talk):
    """Every page kind there is, as the analyst sees it, plus the sign-in page and the admin."""
    from django.contrib.auth import get_user_model

    anonymous = {"login": client.get(reverse("login"))}
    client.force_login(small_talk.analyst)
    signed_in = {
        "talk list": client.get(reverse("talks:list")),
        "dashboard": client.get(reverse("talks:dashboard", args=["small"])),
        "issue": client.get(reverse("talks:issue", args=["small", "truce"])),
    }
    staff = get_user_model().objects.create_user("boss", is_staff=True, is_superuser=True)
    client.force_login(staff)
    admin = {"admin": client.get(reverse("admin:index"))}
    return {**anonymous, **signed_in, **admin}


def test_every_page_carries_the_security_headers(pages):
    for name, response in pages.items():
        assert response.status_code == 200, name
        assert response["X-Content-Type-Options"] == "nosniff", name
        assert response["Referrer-Policy"] == "same-origin", name
        assert response["X-Frame-Options"] == "DENY", name
        assert response["Cross-Origin-Opener-Policy"] == "same-origin", name
        assert len(response["X-Request-ID"]) == 32, name
        policy = csp(response)
        for directive, value in REQUIRED_CSP.items():
            assert policy.get(directive) == value, (name, directive)
        header = response["Content-Security-Policy"]
        for loophole in ("unsafe-inline", "unsafe-eval", "*", "http:", "data:"):
            assert loophole not in header, (name, loophole)


def test_pages_hold_no_inline_script_or_style_and_turn_off_htmx_styles(pages):
    for name, response in pages.items():
        html = response.content.decode()
        if name != "admin":
            assert '<meta name="htmx-config" content=\'{"includeIndicatorStyles": false}\'>' in html
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", html), name
        assert "<style" not in html, name
        assert not re.search(r"\sstyle=", html), name
        assert not re.search(r"\son[a-z]+=", html), name


class Probe(APIView):
    """A plain API view with the project's default authentication, permissions and throttles."""

    def get(self, request):
        return Response({"ok": True})


class OpenProbe(Probe):
    """Open to anonymous clients, as a sign-in or schema endpoint is."""

    permission_classes = [AllowAny]


def call(view, request):
    # One transaction per request, as ATOMIC_REQUESTS gives a real one: DRF marks it for
    # rollback when it answers with an error.
    with transaction.atomic():
        return view(request)


def rates(settings, **scopes):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **scopes},
    }


def test_anonymous_api_traffic_is_throttled_per_address(settings):
    rates(settings, anon="3/minute", user="1000/minute")
    view, factory = OpenProbe.as_view(), APIRequestFactory()
    for address in ("192.0.2.200", "192.0.2.201"):
        cache.delete(f"throttle_anon_{address}")
        cache.delete(f"throttle_user_{address}")
    seen = [
        call(view, factory.get("/api/probe/", REMOTE_ADDR="192.0.2.200")).status_code
        for _ in range(4)
    ]
    assert seen == [200, 200, 200, 429]
    assert call(view, factory.get("/api/probe/", REMOTE_ADDR="192.0.2.201")).status_code == 200


def test_token_traffic_is_throttled_per_user_whatever_the_address(settings):
    rates(settings, anon="1000/minute", user="2/minute")
    view, factory = Probe.as_view(), APIRequestFactory()
    first, second = UserFactory(), UserFactory()
    _, token = AuthToken.objects.create(user=first)
    _, other = AuthToken.objects.create(user=second)
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    seen = [
        call(view, factory.get("/api/probe/", REMOTE_ADDR=f"198.51.100.{i}", **auth)).status_code
        for i in range(3)
    ]
    assert seen == [200, 200, 429]
    refused = call(view, factory.get("/api/probe/", **auth))
    assert 0 < int(refused["Retry-After"]) <= 60
    other_user = factory.get("/api/probe/", HTTP_AUTHORIZATION=f"Token {other}")
    assert call(view, other_user).status_code == 200


def test_an_oversized_body_is_refused_before_it_is_read(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = "x" * 1001
    form = f"username={big}&password=x"
    page = client.post(reverse("login"), form, content_type="application/x-www-form-urlencoded")
    assert page.status_code == 413
    api = client.post("/api/anything/", data=f'{{"a": "{big}"}}', content_type="application/json")
    assert api.status_code == 413
    assert api.json()["detail"] == "The request body is larger than the 1,000 bytes accepted."
    # A small post goes through to the view as usual.
    assert client.post(reverse("login"), {"username": "u", "password": "x"}).status_code == 200


def test_an_overlong_rationale_is_refused_with_a_message_and_nothing_saved(small_talk):
    st = small_talk
    with pytest.raises(ValidationError) as caught:
        position_create(
            issue=st.numeric,
            party=st.north,
            layer="declared",
            data=PositionInput(demand=10, red_line=40, rationale="r" * 10_001),
            by=st.analyst,
            via="web",
            note="too long",
        )
    assert caught.value.message_dict["rationale"] == [
        "Keep this under 10,000 characters (it has 10,001)."
    ]
    assert not Position.objects.filter(issue=st.numeric).exists()


def test_an_issue_with_an_overlong_option_is_refused_whole(small_talk):
    with pytest.raises(ValidationError) as caught:
        issue_create(
            talk=small_talk.talk,
            key="aid",
            title="Aid",
            scale_kind="ordinal",
            options=[OptionInput("ok", "fine"), OptionInput("long", "l" * 201)],
        )
    assert caught.value.message_dict["options"] == [
        "long: Ensure this value has at most 200 characters (it has 201)."
    ]
    assert not Issue.objects.filter(key="aid").exists()
