"""The security settings as production gets them (HTTPS on, DEBUG off)."""

import json

import pytest

from tests.test_settings import PRODUCTION_ENV, manage

NAMES = [
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "SESSION_COOKIE_AGE",
    "SESSION_EXPIRE_AT_BROWSER_CLOSE",
    "CSRF_COOKIE_SECURE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "X_FRAME_OPTIONS",
    "AXES_FAILURE_LIMIT",
    "AUTHENTICATION_BACKENDS",
    "CONTENT_SECURITY_POLICY",
    "REST_FRAMEWORK",
]


@pytest.fixture(scope="module")
def production():
    code = (
        "import json; from django.conf import settings as s; "
        f"print(json.dumps({{n: getattr(s, n) for n in {NAMES!r}}}, default=str))"
    )
    result = manage("shell", "-c", code, env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_cookies_are_secure_http_only_same_site_and_expire(production):
    assert production["SESSION_COOKIE_SECURE"] is True
    assert production["CSRF_COOKIE_SECURE"] is True
    assert production["SESSION_COOKIE_HTTPONLY"] is True
    assert production["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert production["SESSION_COOKIE_AGE"] == 12 * 3600


def test_production_signs_in_through_the_lockout_backend(production):
    assert production["AUTHENTICATION_BACKENDS"][0] == "config.security.SignInLockoutBackend"
    assert production["AXES_FAILURE_LIMIT"] == 5


def test_production_sends_hsts_nosniff_and_a_strict_policy(production):
    assert production["SECURE_SSL_REDIRECT"] is True
    assert production["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    assert production["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert production["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert production["SECURE_REFERRER_POLICY"] == "same-origin"
    assert production["X_FRAME_OPTIONS"] == "DENY"
    directives = production["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]
    assert directives["upgrade-insecure-requests"] is True
    assert directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in directives["script-src"] + directives["style-src"]


def test_production_throttles_the_api_at_the_documented_rates(production):
    framework = production["REST_FRAMEWORK"]
    assert framework["DEFAULT_THROTTLE_RATES"] == {
        "anon": "60/minute",
        "user": "1200/minute",
        "sign_in": "20/minute",
    }
    assert framework["NUM_PROXIES"] == 0
