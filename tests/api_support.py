"""Fixtures and helpers for the API tests: role clients with real tokens, a api_talk talk."""

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from api.services import api_token_create
from positions.models import Interface, Position, Source
from positions.services import PositionInput, position_create
from talks.models import Membership

from .factories import IssueFactory, MembershipFactory, SourceFactory, TalkPartyFactory, UserFactory


def token_client(user: Any, *, read_only: bool = False) -> APIClient:
    """A client that authenticates the way scripts do: with a real (hashed) knox token."""
    _, secret = api_token_create(user=user, name="test script", read_only=read_only)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def csp(response: Any) -> dict[str, str]:
    """The response's Content-Security-Policy as {directive: sources}, whatever their order."""
    policy = response["Content-Security-Policy"]
    parts = (part.strip().split(None, 1) for part in policy.split(";") if part.strip())
    return {name: (rest[0] if rest else "") for name, *rest in parts}


def body(response: Any) -> Any:
    return json.loads(response.content) if response.content else None


def write_position(st: Any, issue: Any, party: Any, data: PositionInput, layer: str = "declared"):
    return position_create(
        issue=issue, party=party, layer=layer, data=data, by=st.analyst, via=Interface.WEB, note="n"
    )


@dataclass
class ApiTalk:
    """The small talk with positions on both layers, a source, computed summaries, and a
    second talk the outsider analyses (so their lists are not empty)."""

    st: Any
    source: Source
    north_truce: Position  # declared
    north_truce_assessed: Position
    south_truce: Position
    north_rule: Position
    other_position: Position
    clients: dict[str, APIClient] = field(default_factory=dict)

    def client(self, role: str) -> APIClient:
        return self.clients[role]


@pytest.fixture
def fresh_cache():
    """Cached payloads are keyed by talk ids, which a rolled-back test may hand out again."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_talk(small_talk, fresh_cache, django_capture_on_commit_callbacks) -> ApiTalk:
    st = small_talk
    with django_capture_on_commit_callbacks(execute=True):
        source = SourceFactory(talk=st.talk, title="Communique")
        north_truce = write_position(
            st, st.numeric, st.north, PositionInput(demand=10, red_line=40, source_ids=(source.pk,))
        )
        south_truce = write_position(
            st, st.numeric, st.south, PositionInput(demand=90, red_line=60)
        )
        north_assessed = write_position(
            st, st.numeric, st.north, PositionInput(demand=20, red_line=70), layer="assessed"
        )
        write_position(
            st, st.numeric, st.south, PositionInput(demand=80, red_line=30), layer="assessed"
        )
        write_position(st, st.ordinal, st.north, PositionInput(demand="none", red_line="most"))
        write_position(st, st.ordinal, st.south, PositionInput(demand="all", red_line="some"))
        north_rule = write_position(
            st, st.categorical, st.north, PositionInput(demand="a", acceptable=frozenset("ab"))
        )
        # The outsider's own talk, with a party the small talk does not have.
        from talks.models import Talk

        other = Talk.objects.get(slug="other")
        elsewhere = TalkPartyFactory(talk=other).party
        other_issue = IssueFactory(talk=other, key="truce", scale_max=100)
        other_position = position_create(
            issue=other_issue,
            party=elsewhere,
            layer="assessed",
            data=PositionInput(demand=5, red_line=9),
            by=st.outsider,
            via=Interface.WEB,
            note="n",
        )
    staff = UserFactory(username="staff-stranger", is_staff=True, is_superuser=True)
    MembershipFactory(user=staff, talk=other, role=Membership.Role.VIEWER)
    world = ApiTalk(
        st=st,
        source=source,
        north_truce=north_truce,
        north_truce_assessed=north_assessed,
        south_truce=south_truce,
        north_rule=north_rule,
        other_position=other_position,
    )
    world.clients = {
        "anonymous": APIClient(),
        "outsider": token_client(st.outsider),
        "staff": token_client(staff),
        "viewer": token_client(st.viewer),
        "mediator": token_client(st.mediator),
        "analyst": token_client(st.analyst),
        "analyst-read-only": token_client(st.analyst, read_only=True),
    }
    return world


def csv_rows(response: Any) -> list[dict[str, str]]:
    import csv
    import io

    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def from_cell(text: str, like: Any) -> Any:
    """Read a CSV cell back into the JSON value it was written from (`like` gives the type)."""
    from api.csv_export import restore_cell

    if like is None:
        assert text == "", text
        return None
    if isinstance(like, bool):
        return {"true": True, "false": False}[text]
    if isinstance(like, int | float):
        return json.loads(text)
    if isinstance(like, list | dict):
        return json.loads(restore_cell(text))
    return restore_cell(text)


def all_pages(client: Any, url: str, params: dict[str, Any] | None = None) -> list[dict]:
    """Every row of a cursor-paginated list, following the next links."""
    rows: list[dict] = []
    response = client.get(url, params or {})
    while True:
        assert response.status_code == 200, response.content
        page = body(response)
        rows.extend(page["results"])
        if not page["next"]:
            return rows
        response = client.get(page["next"])
