"""The OpenAPI schema: valid, complete, served with its docs page from the app itself, and
obeyed by every endpoint (schemathesis: no server errors, no schema violations)."""

import re

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api_support import token_client

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
    policy = page["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "img-src 'self' data:" in policy  # Swagger UI's icons, and nothing else relaxed
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
def analyst_token(filled) -> str:
    client = token_client(filled.st.analyst)
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
    case.call_and_validate(
        headers={"Authorization": analyst_token},
        # A schema-valid request can still be refused with a 400 for what the schema cannot
        # say (an id of no visible object, a demand outside the scale).
        excluded_checks=[positive_data_acceptance],
    )
