"""Every 4xx answer has one JSON shape, says what is wrong, and saves nothing."""

import io
import json

import pytest
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from api.csv_export import cell, neutralize, restore_cell
from api.errors import RequestTooLarge
from api.parsers import LimitedJSONParser
from positions.models import Position, PositionRevision
from tests.api_support import body

URL = "/api/v1/positions/"


def shape(response) -> dict:
    data = body(response)
    assert set(data) >= {"code", "detail", "errors"}, data
    assert isinstance(data["code"], str)
    assert isinstance(data["detail"], str)
    assert data["detail"]
    assert all(isinstance(m, str) for ms in data["errors"].values() for m in ms)
    return data


@pytest.fixture
def counts(api_talk):
    return lambda: (Position.objects.count(), PositionRevision.objects.count())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("raw", "content_type", "status", "code"),
    [
        (b'{"demand": 10, ', "application/json", 400, "parse_error"),
        (b"\xff\xfe not utf-8", "application/json", 400, "parse_error"),
        (b'{"demand": NaN}', "application/json", 400, "parse_error"),
        (b"[1, 2, 3]", "application/json", 400, "invalid"),
        (b"demand=10", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b'{"demand": "\\u0000"}', "application/json", 400, "invalid"),
    ],
)
def test_malformed_bodies_are_refused_clearly_and_nothing_is_saved(
    api_talk, counts, raw, content_type, status, code
):
    before = counts()
    response = api_talk.client("analyst").generic("POST", URL, raw, content_type=content_type)
    assert response.status_code == status
    assert shape(response)["code"] == code
    assert counts() == before


@pytest.mark.django_db
@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_a_body_over_the_size_limit_is_a_413_and_nothing_is_saved(api_talk, counts):
    before = counts()
    payload = {
        "issue": api_talk.st.numeric.pk,
        "party": api_talk.st.broker.pk,
        "layer": "declared",
        "demand": 50,
        "red_line": 60,
        "note": "x" * 2000,
    }
    response = api_talk.client("analyst").post(URL, payload, format="json")
    assert response.status_code == 413
    assert shape(response) == {
        "code": "request_too_large",
        "detail": "The request body is larger than the 1,024 bytes accepted.",
        "errors": {},
    }
    assert counts() == before


def test_a_body_without_a_declared_length_is_cut_off_at_the_limit_too():
    """Chunked uploads have no Content-Length: the parser stops reading past the limit."""

    class Request:
        META: dict = {}

    stream = io.BytesIO(b'{"note": "' + b"x" * 300_000 + b'"}')
    with pytest.raises(RequestTooLarge):
        LimitedJSONParser().parse(stream, "application/json", {"request": Request()})
    small = io.BytesIO(b'{"note": "fits"}')
    assert LimitedJSONParser().parse(small, "application/json", {"request": Request()}) == {
        "note": "fits"
    }


@pytest.mark.django_db
def test_other_client_errors_share_the_shape(api_talk):
    client = api_talk.client("analyst")
    unknown_url = client.get("/api/v1/nowhere/")
    assert (unknown_url.status_code, shape(unknown_url)["code"]) == (404, "not_found")
    not_allowed = client.delete("/api/v1/talks/")
    assert (not_allowed.status_code, shape(not_allowed)["code"]) == (405, "method_not_allowed")
    xml = client.get("/api/v1/talks/", HTTP_ACCEPT="application/xml")
    assert (xml.status_code, shape(xml)["code"]) == (406, "not_acceptable")
    huge_id = client.get("/api/v1/positions/99999999999999999999999/")
    assert (huge_id.status_code, shape(huge_id)["code"]) == (404, "not_found")
    anonymous = api_talk.client("anonymous").get("/api/v1/talks/")
    assert (anonymous.status_code, shape(anonymous)["code"]) == (401, "not_authenticated")
    csv_error = client.get(URL, {"format": "csv", "layer": "nope"})
    assert csv_error["Content-Type"] == "application/json"
    assert shape(csv_error)["errors"] == {
        "layer": ["Select a valid choice. nope is not one of the available choices."]
    }
    options = client.options(URL)
    assert options.status_code == 405


@pytest.mark.django_db
def test_an_unknown_query_parameter_names_the_ones_the_endpoint_takes(api_talk):
    response = api_talk.client("viewer").get("/api/v1/gaps/", {"layers": "declared"})
    data = shape(response)
    assert data["code"] == "invalid_query"
    message = data["errors"]["layers"][0]
    assert message.startswith("Unknown query parameter. This endpoint takes:")
    assert "layer" in message
    assert "as_of" in message


# --- CSV cells --------------------------------------------------------------------------------


@given(st.text())
@settings(max_examples=300, deadline=None)
def test_a_neutralized_cell_never_starts_a_formula_and_restores_exactly(text):
    safe = neutralize(text)
    assert restore_cell(safe) == text
    if safe[:1] in ("=", "+", "-", "@", "\t", "\r"):
        float(safe)  # only a plain number may start like that


@given(st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False)))
@settings(max_examples=100, deadline=None)
def test_numbers_are_written_as_json_numbers(number):
    assert json.loads(cell(number)) == number


def test_formula_like_cells_get_an_apostrophe():
    assert cell("=1+1") == "'=1+1"
    assert cell("@SUM(A1)") == "'@SUM(A1)"
    assert cell("-5") == "-5"
    assert cell("-5 apples") == "'-5 apples"
    assert cell(["=x"]) == '["=x"]'
    assert cell(None) == ""
    assert cell(True) == "true"
