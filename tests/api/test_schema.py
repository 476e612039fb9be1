"""The OpenAPI schema: valid, complete, served with its docs page from the app itself, and
obeyed by every endpoint (schemathesis: no server errors, no schema violations)."""

import datetime as dt
import re

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.specs.openapi.checks import missing_required_header, positive_data_acceptance

from positions.services import PhaseInput, ProposalInput, TermInput, proposal_create
from talks.models import Round
from tests.api_support import csp, token_client

pytestmark = pytest.mark.django_db

OPERATION_ERRORS = {"401", "400"}


@pytest.fixture
def openapi(client) -> dict:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def operations(openapi: dict):
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def test_every_operation_documents_its_parameters_errors_and_an_example(openapi):
    assert openapi["openapi"].startswith("3.")
    description = " ".join(openapi["info"]["description"].split())
    assert "Staff status grants no access to talks through the API" in description
    seen = 0
    for path, method, operation in operations(openapi):
        seen += 1
        label = f"{method.upper()} {path}"
        assert operation.get("summary"), label
        responses = operation["responses"]
        assert set(responses) >= OPERATION_ERRORS, label
        for code in responses:
            if code.startswith("4"):
                schema = responses[code]["content"]["application/json"]["schema"]["$ref"]
                assert schema.endswith(("/Error", "/Conflict")), label
        for name in re.findall(r"{(\w+)}", path):
            assert any(p["name"] == name for p in operation.get("parameters", [])), label
        if method in ("put", "patch", "delete") or (method == "post" and "options" in path):
            headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            assert "If-Match" in headers, label
            assert {"412", "428"} <= set(responses), label
        examples = [
            media.get("examples")
            for response in responses.values()
            for media in response.get("content", {}).values()
        ] + [
            m.get("examples") for m in operation.get("requestBody", {}).get("content", {}).values()
        ]
        assert any(examples), f"{label} has no example"
    assert seen >= 30
    assert "knoxApiToken" in openapi["components"]["securitySchemes"]


def test_the_docs_page_loads_its_assets_from_the_app_without_inline_code(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    policy = csp(page)
    assert policy["script-src"] == "'self'"
    assert policy["img-src"] == "'self' data:"  # Swagger UI's icons, and nothing else relaxed
    html = page.content.decode()
    assert "<style" not in html
    assert re.search(r"<script>\s*\S", html) is None  # no inline script body
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets
    for url in assets:
        assert url.startswith("/"), f"{url} is not served by the app"
        response = client.get(url)
        assert response.status_code == 200, url
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    assert any("swagger-ui-bundle.js" in url for url in assets)


# --- schemathesis -------------------------------------------------------------------------


def _schema() -> schemathesis.BaseSchema:
    """The schema as the app serves it, loaded without a request (no database is open
    while tests are collected); its cases are sent to the app in-process."""
    from django.core.wsgi import get_wsgi_application
    from drf_spectacular.generators import SchemaGenerator

    loaded = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
    loaded.app = get_wsgi_application()
    return loaded


@pytest.fixture
def analyst_token(api_talk) -> str:
    client = token_client(api_talk.st.analyst)
    return client._credentials["HTTP_AUTHORIZATION"]


@pytest.fixture
def in_process_connection():
    """As django.test.Client does: keep the test's connection (and transaction) open."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


schema = _schema()


@schema.parametrize()
@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_endpoint_obeys_its_schema_and_never_fails(
    case, analyst_token, in_process_connection
):
    case.call_and_validate(headers={"Authorization": analyst_token}, excluded_checks=NOT_OURS)


# Checks whose expectation differs from what the API must do:
# - a schema-valid request can still be refused with a 400 for what the schema cannot say
#   (an id of no visible object, a demand outside the scale);
# - a write without If-Match is answered 428 Precondition Required (RFC 6585), which is the
#   point of it, where this check expects a generic 400.
NOT_OURS = [positive_data_acceptance, missing_required_header]


def test_real_objects_answer_as_the_schema_says(api_talk, analyst_token, in_process_connection):
    """Generated ids rarely name a real row: call every path with real ones, as the analyst
    and the mediator, and writes with valid bodies, and validate each answer."""
    f = api_talk
    proposal = proposal_create(
        talk=f.st.talk,
        data=ProposalInput(
            title="Package",
            mediator_id=f.st.broker.pk,
            phases=(PhaseInput(1), PhaseInput(2)),
            terms=(TermInput("truce", 1, 50), TermInput("rule", 2, "b")),
        ),
        by=f.st.mediator,
        via="web",
    )
    ids = {
        "id": None,
        "slug": "small",
        "issue_pk": f.st.numeric.pk,
        "position_pk": f.north_truce_assessed.pk,
        "proposal_pk": proposal.pk,
        "layer": "assessed",
        "key": "a",
    }
    by_path_id = {
        "/api/v1/issues/{id}/": f.st.categorical.pk,
        "/api/v1/issues/{id}/option-order/": f.st.categorical.pk,
        "/api/v1/parties/{id}/": f.st.north.pk,
        "/api/v1/positions/{id}/": f.north_truce.pk,
        "/api/v1/rounds/{id}/": Round.objects.create(
            talk=f.st.talk, number=1, starts_on=dt.date(2026, 9, 1)
        ).pk,
        "/api/v1/sources/{id}/": f.source.pk,
        "/api/v1/proposals/{id}/": proposal.pk,
        "/api/v1/proposals/{id}/compare/": proposal.pk,
        "/api/v1/proposals/{id}/evaluation/": proposal.pk,
    }
    mediator = token_client(f.st.mediator)._credentials["HTTP_AUTHORIZATION"]
    checked = 0
    for path, methods in schema.raw_schema["paths"].items():
        if "{" not in path or "get" not in methods:
            continue
        params = {
            name: by_path_id[path] if name == "id" else ids[name]
            for name in re.findall(r"{(\w+)}", path)
        }
        if path.startswith("/api/v1/issues/{issue_pk}/options/"):
            params["issue_pk"] = f.st.categorical.pk
        operation = schema[path]["GET"]
        for token in (analyst_token, mediator):
            case = operation.Case(path_parameters=params, headers={"Authorization": token})
            response = case.call()
            assert response.status_code == 200, (path, response.text[:200])
            case.validate_response(response, excluded_checks=NOT_OURS)
            checked += 1
    assert checked >= 2 * 15

    position = schema["/api/v1/positions/{id}/"]
    url = {"id": f.north_truce.pk}
    auth = {"Authorization": analyst_token}
    writes = [
        (position["PATCH"], url, {**auth, "If-Match": '"1"'}, {"red_line": 45, "note": "n"}, 200),
        (position["PATCH"], url, {**auth, "If-Match": '"1"'}, {"red_line": 46, "note": "n"}, 412),
        (position["PUT"], url, auth, {"demand": 12, "note": "n"}, 428),
        (position["PATCH"], url, {**auth, "If-Match": '"2"'}, {"red_line": 900, "note": "n"}, 400),
        (
            schema["/api/v1/sources/"]["POST"],
            {},
            auth,
            {"talk": "small", "title": "Briefing", "url": "https://example.org/b"},
            201,
        ),
        (
            schema["/api/v1/issues/{issue_pk}/options/"]["POST"],
            {"issue_pk": f.st.categorical.pk},
            {**auth, "If-Match": '"1"'},
            {"key": "d", "label": "Option d"},
            201,
        ),
        (
            schema["/api/v1/proposals/{id}/terms/{issue_key}/{phase}/"]["PUT"],
            {"id": proposal.pk, "issue_key": "truce", "phase": 2},
            {**auth, "If-Match": '"1"'},
            {"value": 60},
            200,
        ),
        (
            schema["/api/v1/proposals/suggest/"]["POST"],
            {},
            auth,
            {"talk": "small", "mediator": f.st.broker.pk, "layer": "assessed"},
            201,
        ),
        (schema["/api/v1/proposals/{id}/copy/"]["POST"], {"id": proposal.pk}, auth, {}, 201),
    ]
    for operation, path_parameters, headers, body, expected in writes:
        case = operation.Case(
            path_parameters=path_parameters,
            headers=headers,
            body=body,
            media_type="application/json",
        )
        response = case.call()
        assert response.status_code == expected, (operation.label, response.text[:300])
        case.validate_response(response, excluded_checks=NOT_OURS)
