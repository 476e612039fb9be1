"""Who may do what through every interface: every URL of the URL conf x every role x every
HTTP method, with the number of cells printed.

The routes are read from the URL resolver, so a new page, endpoint or admin is in the matrix
as soon as it is routed. A page route without an expectation in PAGES fails the test, as
does an expectation for a route that is gone; admin routes are classified by kind (the
admin's own pages, or a model's), API routes take their expectations from
tests/test_api_access.py (ROUTES), which runs them with each member's own token.

Roles: anonymous; a non-member (an analyst of another talk); the talk's viewer, mediator and
analyst; staff (a superuser who is not a member of the talk); staff without any admin
permission; and the analyst's read-only, expired and revoked API tokens. People sign in with
a browser session; the token roles present their token, which pages and the admin ignore.

Each cell is one request, inside a savepoint that is rolled back, checked against DESIGN.md
"Access" and SECURITY.md: membership decides; a non-member gets 404 for anything of the
talk, byte for byte and query for query the answer about a talk that does not exist, and
finds none of it anywhere; viewers never see the assessed layer; only analysts change
anything, never with a read-only token; an unsupported method is a 405 for everyone.
"""

import datetime as dt
import json
import logging
import re
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver
from knox.models import AuthToken

from api.services import api_token_create, api_token_revoke
from positions.models import Interface
from positions.services import PositionInput, ProposalInput, position_update, proposal_create
from talks.models import Membership, Talk
from tests import test_api_access as api_matrix
from tests.api_support import ApiTalk

pytestmark = pytest.mark.django_db

ROLES = (
    "anonymous",
    "non-member",
    "viewer",
    "mediator",
    "analyst",
    "staff",
    "staff-no-permissions",
    "read-only token",
    "expired token",
    "revoked token",
)
TOKEN_ROLES = ("read-only token", "expired token", "revoked token")
DEAD_TOKENS = ("expired token", "revoked token")
# Who may be shown the small talk's assessed layer somewhere (staff: in the admin).
ASSESSED_READERS = ("mediator", "analyst", "staff", "read-only token")
NON_MEMBERS = ("non-member", "staff", "staff-no-permissions")
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
SAFE = frozenset({"GET", "HEAD"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM = frozenset({"GET", "HEAD", "POST"})
POST = frozenset({"POST"})
ANY_METHOD = frozenset(METHODS)
# How the API's expectations (tests/test_api_access.py) name each role.
AS_API_ROLE = {
    "anonymous": "anonymous",
    "non-member": "outsider",
    "viewer": "viewer",
    "mediator": "mediator",
    "analyst": "analyst",
    "staff": "staff",
    "staff-no-permissions": "outsider",
    "read-only token": "analyst-read-only",
    "expired token": "anonymous",
    "revoked token": "anonymous",
}
LOGIN = "/accounts/login/?next="
ADMIN_LOGIN = "/admin/login/?next="
# Text only the assessed layer of the small talk holds (an assessed position's rationale).
ASSESSED_MARK = "Assessed: North would settle for seventy days"
FAKE_SLUG = "no-such-talk"
FAKE_ID = 999_999_999


# --- Expectations ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """What a cell may answer: `granted` (2xx, 3xx other than to a sign-in page, or 400 for
    a form with errors), a sign-in redirect, one of `statuses`, or anything below 500."""

    statuses: frozenset[int] = frozenset()
    granted: bool = False
    login: str = ""
    anything: bool = False

    def __str__(self) -> str:
        if self.anything:
            return "any answer"
        if self.granted:
            return "granted"
        if self.login:
            return f"302 to {self.login}"
        return str(sorted(self.statuses))

    @property
    def refusal(self) -> bool:
        return not (self.granted or self.anything)


GRANTED = Expect(granted=True)
ANYTHING = Expect(anything=True)
TO_LOGIN = Expect(login=LOGIN)
TO_ADMIN_LOGIN = Expect(login=ADMIN_LOGIN)


def refused(*statuses: int) -> Expect:
    return Expect(statuses=frozenset(statuses))


def is_granted(response: Any) -> bool:
    status = response.status_code
    if 300 <= status < 400:
        location = response.get("Location", "")
        return not location.startswith((LOGIN, ADMIN_LOGIN))
    return 200 <= status < 300 or status == 400


def matches(response: Any, expect: Expect) -> bool:
    status = response.status_code
    if expect.anything:
        return status < 500
    if expect.granted:
        return is_granted(response)
    if expect.login:
        return status == 302 and response["Location"].startswith(expect.login)
    return status in expect.statuses


@dataclass(frozen=True)
class Target:
    kwargs: Callable[[Any], dict[str, Any]] = lambda w: {}
    query: str = ""
    # Shows the assessed layer to those who may read it: viewers must get no trace of it.
    assessed: bool = False
    # Hidden from viewers for another reason (a draft proposal): a 404 for them.
    hidden: bool = False


@dataclass(frozen=True)
class Page:
    """A route outside the API: who may open it ("public", "signed-in", a "member", a
    "proposer" (analyst or mediator) or an "analyst" of the talk, an "auditor" (an analyst of some talk, or staff), "admin" staff
    with the model's permissions, or any staff for the admin's "admin-own" pages) and which
    methods it answers (any other: 405, for everyone)."""

    access: str
    methods: frozenset[str]
    targets: tuple[Target, ...] = (Target(),)


def _talk(**extra: Callable[[Any], Any]) -> Callable[[Any], dict[str, Any]]:
    return lambda w: {"slug": "small", **{k: f(w) for k, f in extra.items()}}


def _layers(kwargs: Callable[[Any], dict[str, Any]]) -> tuple[Target, ...]:
    return (Target(kwargs), Target(kwargs, query="layer=assessed", assessed=True))


def _positions(kwargs_for: Callable[[bool], Callable[[Any], dict[str, Any]]]):
    return (Target(kwargs_for(False)), Target(kwargs_for(True), assessed=True))


def _position(assessed: bool) -> Callable[[Any], dict[str, Any]]:
    return _talk(pk=lambda w: w.position(assessed).pk)


TRUCE = _talk(key=lambda w: "truce")
RULE = _talk(key=lambda w: "rule")
OPTION = _talk(key=lambda w: "rule", option_key=lambda w: "c")
MEMBER = _talk(pk=lambda w: w.viewer_membership.pk)


def _proposals(*, assessed: bool = False) -> tuple[Target, ...]:
    """The shared proposal (viewers read it), the draft (hidden from them), and, where the
    page evaluates it on a layer, the shared one on the assessed layer."""
    shared = _talk(pk=lambda w: w.shared_proposal.pk)
    targets = (Target(shared), Target(_talk(pk=lambda w: w.draft_proposal.pk), hidden=True))
    if assessed:
        targets += (Target(shared, query="layer=assessed", assessed=True),)
    return targets


PAGES: dict[str, Page] = {
    "healthz": Page("public", SAFE),
    "login": Page("public", ANY_METHOD),
    "logout": Page("public", ANY_METHOD),
    "tokens": Page("signed-in", frozenset({"GET", "POST"})),
    "talks:list": Page("signed-in", SAFE),
    "talks:dashboard": Page("member", SAFE, _layers(_talk())),
    "talks:dashboard_live": Page("member", frozenset({"GET"}), _layers(_talk())),
    "talks:members": Page("analyst", FORM, (Target(_talk()),)),
    "talks:member_role": Page("analyst", POST, (Target(MEMBER),)),
    "talks:member_remove": Page("analyst", POST, (Target(MEMBER),)),
    "talks:issue_manage": Page("analyst", SAFE, (Target(_talk()),)),
    "talks:issue_new": Page("analyst", FORM, (Target(_talk()),)),
    "talks:issue": Page("member", SAFE, _layers(TRUCE)),
    "talks:issue_live": Page("member", frozenset({"GET"}), _layers(TRUCE)),
    "talks:issue_edit": Page("analyst", FORM, (Target(RULE),)),
    "talks:option_add": Page("analyst", POST, (Target(RULE),)),
    "talks:option_edit": Page("analyst", POST, (Target(OPTION),)),
    "talks:option_move": Page("analyst", POST, (Target(OPTION),)),
    "talks:option_delete": Page("analyst", POST, (Target(OPTION),)),
    "talks:position_new": Page("analyst", FORM, (Target(TRUCE),)),
    "talks:position_edit": Page("analyst", FORM, _positions(_position)),
    "talks:position_withdraw": Page("analyst", FORM, _positions(_position)),
    "talks:proposals": Page("member", SAFE, _layers(_talk())),
    "talks:proposal_new": Page("proposer", FORM, (Target(_talk()),)),
    "talks:proposal_suggest": Page("proposer", POST, (Target(_talk()),)),
    "talks:proposal": Page("member", SAFE, _proposals(assessed=True)),
    "talks:proposal_builder": Page("proposer", SAFE, _proposals(assessed=True)),
    "talks:proposal_term": Page("proposer", POST, _proposals()),
    "talks:proposal_phase": Page("proposer", POST, _proposals()),
    "talks:proposal_details": Page("proposer", POST, _proposals()),
    "talks:proposal_status": Page("proposer", POST, _proposals()),
    "talks:proposal_copy": Page("proposer", POST, _proposals()),
    "talks:proposal_compare": Page("member", SAFE, _proposals(assessed=True)),
    "audit:log": Page("auditor", SAFE, (Target(), Target(query="talk=small"))),
    "audit:export": Page("auditor", SAFE),
    # Mounted ahead of the admin's own route (config.security.admin_view_on_site).
    "admin-view-on-site": Page("admin", FORM),
}

# Where staff see every talk.
AUDITED_BY_STAFF = ("admin", "admin-own", "auditor")

# The admin's own pages, which show no data: any staff member may open them.
ADMIN_OWN = {
    "admin:index",
    "admin:password_change",
    "admin:password_change_done",
    "admin:jsi18n",
    # Answers only for a field the user may see through a model they may view.
    "admin:autocomplete",
}


def admin_page(name: str) -> Page:
    if name in ("admin:login", "admin:logout"):
        return Page("public", FORM)
    # The catch-all (a 404 for staff) and the redirects from an object's bare address to
    # its change page show nothing either.
    if name in ADMIN_OWN or name.startswith("admin:<unnamed"):
        return Page("admin-own", FORM)
    return Page("admin", FORM)


def page_expected(page: Page, target: Target, method: str, role: str) -> Expect:
    if method not in page.methods:
        return refused(405)
    if page.access == "public":
        return ANYTHING
    if page.access.startswith("admin"):
        if role == "staff":
            return ANYTHING
        if role == "staff-no-permissions":
            return ANYTHING if page.access == "admin-own" else refused(403, 404)
        return TO_ADMIN_LOGIN
    if role == "anonymous" or role in TOKEN_ROLES:
        return TO_LOGIN  # pages take no API token
    if page.access == "signed-in":
        return GRANTED
    if page.access == "auditor":
        # Analysts of any talk (the non-member analyses another) and staff who may view
        # audit events in the admin.
        return GRANTED if role in ("analyst", "non-member", "staff") else refused(403)
    if role in NON_MEMBERS:
        return refused(404)
    if page.access == "analyst" and role != "analyst":
        return refused(403)
    if page.access == "proposer" and role not in ("analyst", "mediator"):
        return refused(403)  # checked before the proposal is looked up
    if target.hidden and role == "viewer":
        return refused(404)
    return GRANTED


# --- Routes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str
    pattern: str
    callback: Any


def all_routes() -> list[Route]:
    """Every route of the URL conf; unnamed ones are named after their pattern."""
    found: list[Route] = []

    def walk(patterns: list[Any], prefix: str, namespaces: list[str]) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = [*namespaces, p.namespace] if p.namespace else namespaces
                walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern):
                name = ":".join([*namespaces, p.name or f"<unnamed {prefix}{p.pattern}>"])
                found.append(Route(name, prefix + str(p.pattern), p.callback))

    walk(get_resolver().url_patterns, "", [])
    return found


def fill(pattern: str, kwargs: dict[str, Any]) -> str:
    url = "/" + pattern
    for key, value in kwargs.items():
        for converter in ("int:", "slug:", "path:", ""):
            url = url.replace(f"<{converter}{key}>", str(value))
    assert "<" not in url, f"unfilled pattern {pattern}: {url}"
    assert "(" not in url, f"unfilled pattern {pattern}: {url}"
    return url


def fake(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The same address about a talk (or object) that does not exist."""
    out = {}
    for key, value in kwargs.items():
        if key == "slug":
            out[key] = FAKE_SLUG
        elif isinstance(value, int):
            out[key] = FAKE_ID
        else:
            out[key] = value
    return out


def admin_urls(w: ApiTalk, route: Route) -> list[str]:
    """The addresses an admin route is tried at: a real object of its model, if any."""
    name, pattern = route.name, route.pattern
    if name == "admin:app_list":
        return ["/admin/talks/"]
    if pattern.endswith("(?P<url>.*)$"):
        return ["/admin/no-such-page/"]
    if name in ("admin:view_on_site", "admin-view-on-site"):
        talk_type = ContentType.objects.get_for_model(Talk)
        return [fill(pattern, {"content_type_id": talk_type.pk, "object_id": w.st.talk.pk})]
    kwargs: dict[str, Any] = {}
    if "<id>" in pattern or "<path:object_id>" in pattern:
        app_label, model_name = pattern.split("/")[1:3]
        model = ContentType.objects.get_by_natural_key(app_label, model_name).model_class()
        first = model._default_manager.order_by("pk").first()
        object_id = first.pk if first is not None else FAKE_ID
        kwargs = {"id": object_id, "object_id": object_id}
    return [fill(pattern, kwargs)]


# --- The world ---------------------------------------------------------------------------------


@pytest.fixture
def world(api_talk, django_capture_on_commit_callbacks, settings) -> ApiTalk:
    # The matrix is about access, not about where sessions and cached values live: a
    # local-memory cache and sessions in signed cookies spare each of its thousands of
    # requests their round trips to Redis and PostgreSQL (a sign-out cell is undone by
    # putting the cookie back).
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "m"}
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    w = api_matrix.matrix_world(api_talk)
    st = w.st
    with django_capture_on_commit_callbacks(execute=True):
        position_update(
            position=w.north_truce_assessed,
            based_on_version=w.north_truce_assessed.version,
            data=PositionInput(demand=20, red_line=70, rationale=ASSESSED_MARK),
            by=st.analyst,
            via=Interface.WEB,
            note="Assessment after the briefing.",
        )
    w.north_truce_assessed.refresh_from_db()
    # A row of every model the admin shows, so each admin page is tried on a real object.
    proposal_create(
        talk=st.talk,
        data=ProposalInput(title="Package", mediator_id=st.broker.pk),
        by=st.mediator,
        via=Interface.WEB,
    )
    Group.objects.create(name="auditors")
    for model in (AccessAttempt, AccessFailureLog):
        extra = {"failures_since_start": 1} if model is AccessAttempt else {}
        model.objects.create(username="someone", ip_address="192.0.2.9", **extra)
    w.viewer_membership = Membership.objects.get(talk=st.talk, user=st.viewer)
    users = get_user_model().objects
    people = {
        "non-member": st.outsider,
        "viewer": st.viewer,
        "mediator": st.mediator,
        "analyst": st.analyst,
        "staff": users.get(username="staff-stranger"),
        "staff-no-permissions": users.create_user("staff-plain", is_staff=True),
    }
    w.sessions = {"anonymous": Client()}
    for role, user in people.items():
        client = Client()
        client.force_login(user)
        w.sessions[role] = client
    _, read_only = api_token_create(user=st.analyst, name="read-only", read_only=True)
    expired_token, expired = api_token_create(user=st.analyst, name="expired", read_only=False)
    AuthToken.objects.filter(pk=expired_token.pk).update(
        expiry=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    )
    revoked_token, revoked = api_token_create(user=st.analyst, name="revoked", read_only=False)
    api_token_revoke(user=st.analyst, token_key=revoked_token.token_key)
    for role, secret in zip(TOKEN_ROLES, (read_only, expired, revoked), strict=True):
        w.sessions[role] = Client(HTTP_AUTHORIZATION=f"Token {secret}")
    return w


# --- Running a cell ------------------------------------------------------------------------------


class _NoCount:
    def __enter__(self) -> "_NoCount":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __len__(self) -> int:
        return 0


def call(
    client: Client,
    method: str,
    url: str,
    data: Any = None,
    if_match: int | None = None,
    *,
    count: bool = False,
):
    """One request; an unsafe one inside a savepoint that is rolled back, so every cell
    meets the same data (a safe one changes nothing a later cell could see: what it may
    write is the audit log). The client's cookies (a sign-out would drop them) are put back
    afterwards. Returns the response and, with `count`, its number of queries."""
    cookies = {key: morsel.value for key, morsel in client.cookies.items()}
    headers = {} if if_match is None else {"HTTP_IF_MATCH": f'"{if_match}"'}
    counter: Any = _NoCount()
    if count:
        connection.queries_log.clear()
        counter = CaptureQueriesContext(connection)
    undone = method not in SAFE_METHODS
    with counter as queries, transaction.atomic() if undone else nullcontext():
        if data is None:
            response = client.generic(method, url, **headers)
        else:
            response = client.generic(
                method, url, data=json.dumps(data), content_type="application/json", **headers
            )
        if undone:
            transaction.set_rollback(True)
    client.cookies = SimpleCookie(cookies)
    return response, len(queries)


def text_of(response: Any) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


# Each page's sign-out form carries a freshly masked CSRF token.
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def normal(text: str) -> str:
    return CSRF_INPUT.sub('name="csrfmiddlewaretoken"', text)


# Headers that differ between any two requests.
VOLATILE_HEADERS = {"x-request-id", "date", "set-cookie"}


def same_answer(a: Any, qa: int, b: Any, qb: int, real: str, fake_text: str) -> str:
    """Why two answers could be told apart, or "" if they cannot."""
    if a.status_code != b.status_code:
        return f"status {a.status_code} != {b.status_code}"
    if normal(text_of(a)) != normal(text_of(b)).replace(fake_text, real):
        return "bodies differ"
    ha = {k.lower(): v for k, v in a.items() if k.lower() not in VOLATILE_HEADERS}
    hb = {k.lower(): v for k, v in b.items() if k.lower() not in VOLATILE_HEADERS}
    if ha != hb:
        return f"headers differ: {set(ha.items()) ^ set(hb.items())}"
    if qa != qb:
        return f"{qa} queries against {qb}"
    return ""


@dataclass
class Tally:
    cells: Counter = field(default_factory=Counter)
    by_interface: Counter = field(default_factory=Counter)
    unauthorized_successes: int = 0
    read_only_writes: int = 0
    read_only_refusals: int = 0
    indistinguishable: int = 0
    assessed_shown: int = 0
    failures: list[str] = field(default_factory=list)


def check_leaks(tally: Tally, label: str, role: str, text: str, *, may_see_small: bool) -> None:
    if not may_see_small:
        leaked = [m for m in api_matrix.SMALL_TALK_MARKS if m in text]
        if leaked:
            tally.failures.append(f"{label}: shows {leaked}")
    if ASSESSED_MARK in text and role not in ASSESSED_READERS:
        tally.failures.append(f"{label}: shows the assessed layer")


def run_page(w: Any, tally: Tally, route: Route, page: Page, interface: str) -> None:
    for target in page.targets:
        kwargs = target.kwargs(w)
        urls = (
            admin_urls(w, route)
            if interface == "admin" or route.name == "admin-view-on-site"
            else [fill(route.pattern, kwargs)]
        )
        for base in urls:
            url = f"{base}?{target.query}" if target.query else base
            for method in METHODS:
                for role in ROLES:
                    client = w.sessions[role]
                    compare = role in NON_MEMBERS and "slug" in kwargs and method in page.methods
                    response, queries = call(client, method, url, count=compare)
                    expect = page_expected(page, target, method, role)
                    tally.cells[role] += 1
                    tally.by_interface[interface] += 1
                    label = f"{method} {url} as {role}"
                    if expect.refusal and is_granted(response):
                        tally.unauthorized_successes += 1
                    if not matches(response, expect):
                        tally.failures.append(f"{label}: {response.status_code}, expected {expect}")
                        continue
                    text = text_of(response)
                    staff_sees_all = role == "staff" and page.access in AUDITED_BY_STAFF
                    is_member = role in ("viewer", "mediator", "analyst")
                    check_leaks(
                        tally,
                        label,
                        role,
                        text,
                        may_see_small=is_member or staff_sees_all,
                    )
                    if (
                        target.assessed
                        and role in ("mediator", "analyst")
                        and method == "GET"
                        and response.status_code == 200
                        and ASSESSED_MARK in text
                    ):
                        tally.assessed_shown += 1
                    if compare:
                        fake_url = fill(route.pattern, fake(kwargs))
                        fake_url += f"?{target.query}" if target.query else ""
                        other, other_queries = call(client, method, fake_url, count=True)
                        why = same_answer(response, queries, other, other_queries, url, fake_url)
                        if why:
                            tally.failures.append(
                                f"{label}: unlike a talk that does not exist: {why}"
                            )
                        else:
                            tally.indistinguishable += 1


def run_api(w: Any, tally: Tally, route: Route) -> None:
    spec = api_matrix.ROUTES[route.name]
    supported = api_matrix.supported_methods(route.callback)
    for target in spec.targets:
        kwargs = target.kwargs(w)
        url = "/api/v2/nowhere/" if spec.kind == "fallback" else fill(route.pattern, kwargs)
        query = f"?{target.query}" if target.query else ""
        url += query
        for method in METHODS:
            is_supported = method in supported
            if spec.kind == "public" and not is_supported:
                continue
            make_body = target.bodies.get(method)
            data = make_body(w) if make_body else None
            writing = method in api_matrix.WRITES
            if_match = target.if_match(w) if target.if_match and writing else None
            for role in ROLES:
                api_role = AS_API_ROLE[role]
                client = w.sessions[role]
                compare = spec.kind == "talk-object" and role in NON_MEMBERS
                response, queries = call(client, method, url, data, if_match, count=compare)
                allowed = api_matrix._expected(spec, target, method, api_role, is_supported)
                if spec.kind == "public" and role in DEAD_TOKENS:
                    allowed = {401}  # a refused token is refused everywhere
                tally.cells[role] += 1
                tally.by_interface["api"] += 1
                label = f"{method} {url} as {role}{' (assessed)' if target.assessed else ''}"
                granted = 200 <= response.status_code < 400
                if granted and not any(200 <= s < 400 for s in allowed):
                    tally.unauthorized_successes += 1
                if response.status_code not in allowed:
                    tally.failures.append(f"{label}: {response.status_code}, expected {allowed}")
                    continue
                if role == "read-only token" and writing and is_supported:
                    tally.read_only_writes += 1
                    tally.read_only_refusals += response.status_code == 403
                text = text_of(response)
                if spec.kind != "public":
                    stranger = api_role in api_matrix.STRANGERS or api_role == "anonymous"
                    check_leaks(tally, label, role, text, may_see_small=not stranger)
                    if api_role == "viewer" and method in SAFE and '"assessed"' in text:
                        tally.failures.append(f"{label}: shows the assessed layer")
                if compare:
                    fake_url = fill(route.pattern, fake(kwargs)) + query
                    other, other_queries = call(
                        client, method, fake_url, data, if_match, count=True
                    )
                    why = same_answer(response, queries, other, other_queries, url, fake_url)
                    if why:
                        tally.failures.append(
                            f"{label}: unlike an object that does not exist: {why}"
                        )
                    else:
                        tally.indistinguishable += 1


def interface_of(route: Route) -> str:
    if route.pattern.startswith("api/"):
        return "api"
    if route.name.startswith("admin") or route.pattern.startswith("admin/"):
        return "admin"
    return "web"


def run_all(w: Any, routes: list[Route]) -> Tally:
    tally = Tally()
    for route in routes:
        interface = interface_of(route)
        if interface == "api":
            run_api(w, tally, route)
        else:
            page = PAGES[route.name] if route.name in PAGES else admin_page(route.name)
            run_page(w, tally, route, page, interface)
    return tally


def test_every_url_every_role_every_method(world, capsys):
    routes = all_routes()
    names = {r.name for r in routes}
    page_names = {r.name for r in routes if interface_of(r) == "web"} | {"admin-view-on-site"}
    unknown = sorted(page_names - set(PAGES))
    assert not unknown, f"Routes without an access expectation in PAGES: {unknown}"
    gone = sorted(set(PAGES) - names)
    assert not gone, f"Expectations for routes that no longer exist: {gone}"
    api_names = {r.name for r in routes if interface_of(r) == "api"}
    assert api_names == set(api_matrix.ROUTES), "tests/test_api_access.py ROUTES is out of date"

    # Thousands of refusals would each be logged as a warning.
    logging.disable(logging.WARNING)
    try:
        tally = run_all(world, routes)
    finally:
        logging.disable(logging.NOTSET)
    total = sum(tally.cells.values())
    interfaces = ", ".join(f"{k} {v}" for k, v in tally.by_interface.items())
    with capsys.disabled():
        print(
            f"\nAccess matrix: {len(routes)} routes x {len(ROLES)} roles x {len(METHODS)} methods"
            f" = {total} cells ({interfaces}); unauthorized successes: "
            f"{tally.unauthorized_successes}; non-member answers identical to a missing "
            f"talk's: {tally.indistinguishable}; read-only token refusals: "
            f"{tally.read_only_refusals}/{tally.read_only_writes}; mismatches: "
            f"{len(tally.failures)}"
        )
    assert not tally.failures, "\n".join(tally.failures[:60])
    assert tally.unauthorized_successes == 0
    # The checks had something to find: the assessed mark is on the pages that may show
    # it, and every unsafe method of every API route met the read-only token (and a 403).
    assert tally.assessed_shown >= 4
    assert tally.read_only_refusals == tally.read_only_writes > 0
    assert tally.indistinguishable > 0


def test_a_route_without_an_expectation_fails_the_matrix(monkeypatch):
    """The matrix cannot pass silently over a new page."""
    monkeypatch.delitem(PAGES, "talks:issue_live")
    page_names = {r.name for r in all_routes() if interface_of(r) == "web"}
    assert sorted(page_names - set(PAGES)) == ["talks:issue_live"]


def test_every_unsafe_request_of_a_signed_in_browser_needs_the_csrf_token(world):
    """A page, admin form or API call sent from another site (the session cookie goes along,
    the CSRF token does not) is refused before anything happens."""
    users = get_user_model().objects
    browsers = {}
    for role, username in (("analyst", "small-analyst"), ("staff", "staff-stranger")):
        browsers[role] = Client(enforce_csrf_checks=True)
        browsers[role].force_login(users.get(username=username))
    refused_count = 0
    for route in all_routes():
        interface = interface_of(route)
        if interface == "api":
            spec = api_matrix.ROUTES[route.name]
            unsafe = api_matrix.supported_methods(route.callback) & set(api_matrix.WRITES)
            if spec.kind in ("public", "fallback") or not unsafe:
                continue
            requests = [
                (method, fill(route.pattern, target.kwargs(world)))
                for target in spec.targets
                for method in sorted(unsafe)
            ]
            client = browsers["analyst"]
        else:
            page = PAGES.get(route.name) or admin_page(route.name)
            if "POST" not in page.methods or page.access == "public":
                continue
            urls = (
                admin_urls(world, route)
                if interface == "admin"
                else [fill(route.pattern, target.kwargs(world)) for target in page.targets]
            )
            requests = [("POST", url) for url in urls]
            client = browsers["staff" if interface == "admin" else "analyst"]
        for method, url in requests:
            response, _ = call(client, method, url)
            assert response.status_code == 403, (method, url, response.status_code)
            assert b"CSRF" in response.content, (method, url)
            refused_count += 1
    assert refused_count > 100
