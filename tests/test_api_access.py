"""Who may do what through the API: the role x endpoint x method matrix.

Every route under /api/ is read from the URL conf, so a new endpoint is in the matrix as
soon as it is routed; a route this file has no expectation for fails the test. Each cell
sends the same valid request (right body, current If-Match) as each role, inside a
savepoint that is rolled back, and checks the answer against DESIGN.md "Access":
membership decides; non-members (staff included) get 404 for anything of the talk and
find nothing of it in lists; viewers never see the assessed layer; only analysts write,
and never with a read-only token.
"""

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver

from issues.models import GapSummary
from positions.services import ProposalInput, TermInput, proposal_create
from talks.models import Round
from tests.api_support import ApiTalk, body
from tests.factories import SourceFactory

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "outsider", "staff", "viewer", "mediator", "analyst", "analyst-read-only")
MEMBERS = ("viewer", "mediator", "analyst", "analyst-read-only")
STRANGERS = ("outsider", "staff")
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
WRITES = ("POST", "PUT", "PATCH", "DELETE")
# Text that would betray the small talk to a stranger.
SMALL_TALK_MARKS = ('"small"', "Small talk", "North", "South", "Broker", "Communique")


@dataclass
class Target:
    """One concrete object (or collection) behind a route, and what a request to it sends."""

    kwargs: Callable[[Any], dict[str, Any]] = lambda f: {}
    assessed: bool = False  # on the assessed layer: hidden from viewers
    hidden: bool = False  # hidden from viewers for another reason (a draft proposal)
    query: str = ""  # the query string the request carries
    writers: tuple[str, ...] = ("analyst",)  # the roles that may write
    bodies: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    if_match: Callable[[Any], int] | None = None  # the version a write names
    # For POST: the same body naming an object that does not exist, to compare with.
    unknown_body: Callable[[Any], tuple[Any, str, str]] | None = None


@dataclass
class Route:
    kind: str  # "talk-object", "collection", "personal", "public", "fallback"
    targets: tuple[Target, ...] = (Target(),)


def _issue_version(f: ApiTalk, issue: Any) -> int:
    issue.refresh_from_db(fields=["version"])
    return issue.version


def _proposal_body(f: ApiTalk) -> dict[str, Any]:
    return {
        "talk": "small",
        "title": "Truce first",
        "mediator": f.st.broker.pk,
        "terms": [{"issue": "truce", "phase": 1, "value": 50}],
        "note": "A first idea.",
    }


PROPOSERS = ("analyst", "mediator")


def _proposal_targets(make: Callable[..., Target]) -> tuple[Target, ...]:
    """The shared proposal (viewers read it) and the draft (hidden from them)."""
    return (
        make(lambda f: f.shared_proposal, hidden=False),
        make(lambda f: f.draft_proposal, hidden=True),
    )


def _proposal_detail(pick: Callable[[Any], Any], hidden: bool) -> Target:
    return Target(
        lambda f: {"pk": pick(f).pk},
        hidden=hidden,
        writers=PROPOSERS,
        bodies={
            "PUT": lambda f: {"title": "Replaced", "mediator": f.st.broker.pk},
            "PATCH": lambda f: {"summary": "Sharper.", "note": "n"},
        },
        if_match=lambda f: pick(f).version,
    )


def _position_body(f: ApiTalk) -> dict[str, Any]:
    return {
        "issue": f.st.categorical.pk,
        "party": f.st.south.pk,
        "layer": "declared",
        "demand": "b",
        "acceptable": ["b", "c"],
        "note": "South states its terms.",
    }


ROUTES: dict[str, Route] = {
    "api:me": Route("personal"),
    "api:talk-list": Route("collection"),
    "api:talk-detail": Route("talk-object", (Target(lambda f: {"slug": "small"}),)),
    "api:talk-dashboard": Route("talk-object", (Target(lambda f: {"slug": "small"}),)),
    "api:round-list": Route("collection"),
    "api:round-detail": Route("talk-object", (Target(lambda f: {"pk": f.round.pk}),)),
    "api:party-list": Route("collection"),
    "api:party-detail": Route("talk-object", (Target(lambda f: {"pk": f.st.north.pk}),)),
    "api:issue-list": Route(
        "collection",
        (
            Target(
                bodies={
                    "POST": lambda f: {
                        "talk": "small",
                        "key": "monitors",
                        "title": "Monitors",
                        "scale_kind": "numeric",
                        "scale_min": 0,
                        "scale_max": 10,
                    }
                },
                unknown_body=lambda f: (
                    {
                        "talk": "no-such-talk",
                        "key": "monitors",
                        "title": "M",
                        "scale_kind": "numeric",
                    },
                    "no-such-talk",
                    "small",
                ),
            ),
        ),
    ),
    "api:issue-detail": Route(
        "talk-object",
        (
            Target(
                lambda f: {"pk": f.st.numeric.pk},
                bodies={
                    "PUT": lambda f: {"title": "Truce length", "scale_min": 0, "scale_max": 100},
                    "PATCH": lambda f: {"priority": 5},
                },
                if_match=lambda f: _issue_version(f, f.st.numeric),
            ),
        ),
    ),
    "api:issue-option-order": Route(
        "talk-object",
        (
            Target(
                lambda f: {"pk": f.st.categorical.pk},
                bodies={"PUT": lambda f: {"keys": ["c", "b", "a"]}},
                if_match=lambda f: _issue_version(f, f.st.categorical),
            ),
        ),
    ),
    "api:issue-option-list": Route(
        "talk-object",
        (
            Target(
                lambda f: {"issue_pk": f.st.categorical.pk},
                bodies={"POST": lambda f: {"key": "d", "label": "Option d"}},
                if_match=lambda f: _issue_version(f, f.st.categorical),
            ),
        ),
    ),
    "api:issue-option-detail": Route(
        "talk-object",
        (
            Target(
                lambda f: {"issue_pk": f.st.categorical.pk, "key": "c"},
                bodies={
                    "PUT": lambda f: {"label": "Option c", "description": "Third"},
                    "PATCH": lambda f: {"label": "Option c"},
                },
                if_match=lambda f: _issue_version(f, f.st.categorical),
            ),
        ),
    ),
    "api:position-list": Route(
        "collection",
        (
            Target(
                bodies={"POST": _position_body},
                unknown_body=lambda f: (
                    {**_position_body(f), "issue": 999_999_999},
                    "999999999",
                    str(f.st.categorical.pk),
                ),
            ),
        ),
    ),
    "api:position-detail": Route(
        "talk-object",
        tuple(
            Target(
                (lambda f, a=assessed: {"pk": f.position(a).pk}),
                assessed=assessed,
                bodies={
                    "PUT": lambda f: {"demand": 15, "red_line": 45, "note": "Replaced."},
                    "PATCH": lambda f: {"red_line": 45, "note": "Moved."},
                    "DELETE": lambda f: {"note": "Withdrawn."},
                },
                if_match=lambda f, a=assessed: f.position(a).version,
            )
            for assessed in (False, True)
        ),
    ),
    "api:position-revisions": Route(
        "talk-object",
        tuple(
            Target((lambda f, a=a: {"position_pk": f.position(a).pk}), assessed=a)
            for a in (False, True)
        ),
    ),
    "api:revision-list": Route("collection"),
    "api:source-list": Route(
        "collection",
        (
            Target(
                bodies={"POST": lambda f: {"talk": "small", "title": "Press briefing"}},
                unknown_body=lambda f: (
                    {"talk": "no-such-talk", "title": "Press briefing"},
                    "no-such-talk",
                    "small",
                ),
            ),
        ),
    ),
    "api:source-detail": Route(
        "talk-object",
        (
            Target(
                lambda f: {"pk": f.spare_source.pk},
                bodies={
                    "PUT": lambda f: {"title": "Briefing (corrected)"},
                    "PATCH": lambda f: {"reliability": "high"},
                },
                if_match=lambda f: f.spare_source.version,
            ),
        ),
    ),
    "api:proposal-list": Route(
        "collection",
        (
            Target(
                writers=PROPOSERS,
                bodies={"POST": _proposal_body},
                unknown_body=lambda f: (
                    {**_proposal_body(f), "talk": "no-such-talk"},
                    "no-such-talk",
                    "small",
                ),
            ),
        ),
    ),
    "api:proposal-suggest": Route(
        "collection",
        (
            Target(
                writers=PROPOSERS,
                bodies={"POST": lambda f: {"talk": "small", "mediator": f.st.broker.pk}},
                unknown_body=lambda f: (
                    {"talk": "no-such-talk", "mediator": f.st.broker.pk},
                    "no-such-talk",
                    "small",
                ),
            ),
        ),
    ),
    "api:proposal-detail": Route("talk-object", _proposal_targets(_proposal_detail)),
    "api:proposal-term": Route(
        "talk-object",
        _proposal_targets(
            lambda pick, hidden: Target(
                lambda f: {"pk": pick(f).pk, "issue_key": "truce", "phase": 1},
                hidden=hidden,
                writers=PROPOSERS,
                bodies={"PUT": lambda f: {"value": 55}},
                if_match=lambda f: pick(f).version,
            )
        ),
    ),
    "api:proposal-copy": Route(
        "talk-object",
        _proposal_targets(
            lambda pick, hidden: Target(
                lambda f: {"pk": pick(f).pk},
                hidden=hidden,
                writers=PROPOSERS,
                bodies={"POST": lambda f: {}},
            )
        ),
    ),
    "api:proposal-evaluation": Route(
        "talk-object",
        (
            *_proposal_targets(
                lambda pick, hidden: Target(lambda f: {"pk": pick(f).pk}, hidden=hidden)
            ),
            Target(lambda f: {"pk": f.shared_proposal.pk}, assessed=True, query="layer=assessed"),
        ),
    ),
    "api:proposal-compare": Route(
        "talk-object",
        _proposal_targets(lambda pick, hidden: Target(lambda f: {"pk": pick(f).pk}, hidden=hidden)),
    ),
    "api:proposal-revisions": Route(
        "talk-object",
        _proposal_targets(
            lambda pick, hidden: Target(lambda f: {"proposal_pk": pick(f).pk}, hidden=hidden)
        ),
    ),
    "api:gap-list": Route("collection"),
    "api:gap-detail": Route(
        "talk-object",
        tuple(
            Target(
                (lambda f, layer=layer: {"issue_pk": f.st.numeric.pk, "layer": layer}),
                assessed=layer == "assessed",
            )
            for layer in ("declared", "assessed")
        ),
    ),
    "api:gap-history": Route(
        "talk-object",
        tuple(
            Target(
                (lambda f, layer=layer: {"issue_pk": f.st.numeric.pk, "layer": layer}),
                assessed=layer == "assessed",
            )
            for layer in ("declared", "assessed")
        ),
    ),
    "api:schema": Route("public"),
    "api:docs": Route("public"),
    "api:not-found": Route("fallback"),
}


def api_routes() -> dict[str, tuple[str, Any]]:
    """Every named route under /api/: name -> (pattern, view callback)."""
    found: dict[str, tuple[str, Any]] = {}

    def walk(patterns: list[Any], prefix: str, namespaces: list[str]) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = [*namespaces, p.namespace] if p.namespace else namespaces
                walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern):
                name = ":".join([*namespaces, p.name or f"<unnamed {p.pattern}>"])
                found[name] = (prefix + str(p.pattern), p.callback)

    walk(get_resolver().url_patterns, "", [])
    return {name: value for name, value in found.items() if value[0].startswith("api/")}


def supported_methods(callback: Any) -> set[str]:
    actions = getattr(callback, "actions", None)
    if actions is not None:
        methods = {m.upper() for m in actions}
    else:
        view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
        names = getattr(view_class, "http_method_names", ["get"])
        methods = {m.upper() for m in names if hasattr(view_class, m)}
    if "GET" in methods:
        methods.add("HEAD")
    return methods - {"OPTIONS"}


@pytest.fixture
def world(api_talk) -> ApiTalk:
    return matrix_world(api_talk)


def matrix_world(f: ApiTalk) -> ApiTalk:
    """The objects ROUTES points at (also used by tests/test_access_matrix.py)."""
    f.round = Round.objects.create(talk=f.st.talk, number=1, starts_on=dt.date(2026, 9, 1))
    f.spare_source = SourceFactory(talk=f.st.talk, title="Briefing")
    f.position = lambda assessed: f.north_truce_assessed if assessed else f.north_truce
    st = f.st
    f.shared_proposal = proposal_create(
        talk=st.talk,
        data=ProposalInput(
            title="Shared package",
            mediator_id=st.broker.pk,
            status="shared",
            terms=(TermInput("truce", 1, 50),),
        ),
        by=st.mediator,
        via="web",
    )
    f.draft_proposal = proposal_create(
        talk=st.talk,
        data=ProposalInput(
            title="Draft package", mediator_id=st.broker.pk, terms=(TermInput("truce", 1, 45),)
        ),
        by=st.mediator,
        via="web",
    )
    assert GapSummary.objects.filter(issue=f.st.numeric, computed_rev__gt=0).count() == 2
    return f


def _call(client: Any, method: str, url: str, data: Any, if_match: int | None) -> Any:
    headers = {} if if_match is None else {"HTTP_IF_MATCH": f'"{if_match}"'}
    with transaction.atomic():
        response = client.generic(
            method,
            url,
            data=None if data is None else json.dumps(data),
            content_type="application/json",
            **headers,
        )
        transaction.set_rollback(True)
    return response


def _expected(route: Route, target: Target, method: str, role: str, supported: bool) -> set[int]:
    """The statuses this role may get for this request."""
    if route.kind == "public":
        return {200}
    if route.kind == "fallback":
        return {404}
    if role == "anonymous":
        return {401}
    if not supported:
        return {405}
    reading = method in ("GET", "HEAD")
    # A read-only token acts for an analyst, and is refused every write.
    writer = role in target.writers
    if route.kind == "personal":
        return {200}
    if route.kind == "collection":
        if reading:
            return {200}
        if role == "analyst-read-only":
            return {403}
        if writer:
            return {201}
        if role in STRANGERS:
            return {400}  # its references are unknown to them: compared below
        return {403}
    # An object of the small talk.
    if role in STRANGERS:
        return {404}
    if role == "analyst-read-only" and not reading:
        return {403}
    if (target.assessed or target.hidden) and role == "viewer":
        return {404}
    if reading:
        return {200}
    if not writer:
        return {403}
    # A withdrawn position or removed source has no body (204); a removed option answers
    # with its issue (200).
    return {201} if method == "POST" else {200, 204} if method == "DELETE" else {200}


def test_every_role_gets_exactly_what_access_allows_on_every_endpoint(world, capsys):
    routes = api_routes()
    unknown = sorted(set(routes) - set(ROUTES))
    assert not unknown, f"API routes without an access expectation here: {unknown}"
    gone = sorted(set(ROUTES) - set(routes))
    assert not gone, f"Expectations for routes that no longer exist: {gone}"

    cells = Counter()
    failures: list[str] = []
    unauthorized_successes = 0
    for name, (pattern, callback) in sorted(routes.items()):
        route = ROUTES[name]
        supported = supported_methods(callback)
        for target in route.targets:
            kwargs = target.kwargs(world)
            url = "/" + pattern
            for key, value in kwargs.items():
                url = url.replace(f"<int:{key}>", str(value)).replace(f"<slug:{key}>", str(value))
            if route.kind == "fallback":
                url = "/api/v2/nowhere/"
            if target.query:
                url += "?" + target.query
            for method in HTTP_METHODS:
                is_supported = method in supported
                if route.kind == "public" and not is_supported:
                    continue
                make_body = target.bodies.get(method)
                data = make_body(world) if make_body else None
                if_match = target.if_match(world) if target.if_match and method in WRITES else None
                for role in ROLES:
                    response = _call(world.client(role), method, url, data, if_match)
                    allowed = _expected(route, target, method, role, is_supported)
                    cells[role] += 1
                    label = f"{method} {url} as {role}{' (assessed)' if target.assessed else ''}"
                    label += " (hidden from viewers)" if target.hidden else ""
                    ok = response.status_code in allowed
                    granted = 200 <= response.status_code < 400
                    if granted and not any(200 <= s < 400 for s in allowed):
                        unauthorized_successes += 1
                    if not ok:
                        failures.append(f"{label}: {response.status_code}, expected {allowed}")
                        continue
                    text = response.content.decode(errors="replace")
                    if role in STRANGERS and route.kind != "public":
                        leaked = [m for m in SMALL_TALK_MARKS if m in text]
                        if leaked:
                            failures.append(f"{label}: shows {leaked}")
                    if role == "viewer" and reading_of(method) and '"assessed"' in text:
                        failures.append(f"{label}: shows the assessed layer")
                    if role in STRANGERS and method == "POST" and target.unknown_body:
                        unknown_data, fake, real = target.unknown_body(world)
                        control = _call(world.client(role), method, url, unknown_data, None)
                        assert control.status_code == response.status_code, label
                        same = control.content.decode().replace(fake, real)
                        if same != text:
                            failures.append(f"{label}: differs from an unknown reference")
    total = sum(cells.values())
    with capsys.disabled():
        print(
            f"\nAPI access matrix: {len(routes)} routes, {total} cells "
            f"({', '.join(f'{r} {n}' for r, n in cells.items())}); "
            f"unauthorized successes: {unauthorized_successes}; mismatches: {len(failures)}"
        )
    assert unauthorized_successes == 0
    assert not failures, "\n".join(failures)


def reading_of(method: str) -> bool:
    return method in ("GET", "HEAD")


def test_a_route_without_an_expectation_fails_the_matrix(monkeypatch):
    """The matrix cannot pass silently over a new endpoint."""
    routes = api_routes()
    assert set(routes) == set(ROUTES)
    monkeypatch.delitem(ROUTES, "api:gap-history")
    assert sorted(set(api_routes()) - set(ROUTES)) == ["api:gap-history"]


def test_strangers_filtering_by_a_talk_see_what_a_nonexistent_talk_shows(world):
    for role in STRANGERS:
        client = world.client(role)
        for path in ("positions", "gaps", "revisions", "sources", "issues", "rounds", "parties"):
            real = client.get(f"/api/v1/{path}/", {"talk": "small"})
            fake = client.get(f"/api/v1/{path}/", {"talk": "no-such-talk"})
            assert real.status_code == fake.status_code == 400, (role, path)
            assert body(real) == body(fake), (role, path)
        issue = client.get("/api/v1/positions/", {"issue": world.st.numeric.pk})
        none = client.get("/api/v1/positions/", {"issue": 999_999_999})
        assert body(issue) == body(none)


def test_viewers_filtering_by_the_assessed_layer_get_nothing(world):
    viewer = world.client("viewer")
    for path in ("positions", "gaps", "revisions"):
        response = viewer.get(f"/api/v1/{path}/", {"talk": "small", "layer": "assessed"})
        assert response.status_code == 200
        assert body(response)["results"] == []
    assert viewer.get("/api/v1/talks/small/dashboard/", {"layer": "assessed"}).status_code == 404
    mediator = world.client("mediator")
    response = mediator.get("/api/v1/positions/", {"talk": "small", "layer": "assessed"})
    assert {p["party_name"] for p in body(response)["results"]} == {"North", "South"}
