"""Shared fixtures: a small talk with two principals and one issue per scale kind."""

import io
from dataclasses import dataclass

import pytest

from issues.models import Issue
from talks.models import Membership, Party, Talk, TalkParty

from .factories import (
    IssueFactory,
    MembershipFactory,
    PartyFactory,
    TalkFactory,
    TalkPartyFactory,
    UserFactory,
    add_options,
)


@dataclass
class SmallTalk:
    talk: Talk
    north: Party
    south: Party
    broker: Party
    numeric: Issue
    ordinal: Issue
    categorical: Issue
    analyst: object
    mediator: object
    viewer: object
    outsider: object


@pytest.fixture
def small_talk(db) -> SmallTalk:
    talk = TalkFactory(slug="small", title="Small talk")
    north, south, broker = (PartyFactory(name=n) for n in ("North", "South", "Broker"))
    TalkPartyFactory(talk=talk, party=north)
    TalkPartyFactory(talk=talk, party=south)
    TalkPartyFactory(talk=talk, party=broker, role=TalkParty.Role.MEDIATOR)
    numeric = IssueFactory(talk=talk, key="truce", title="Truce", scale_max=100, unit="days")
    ordinal = IssueFactory(
        talk=talk,
        key="pullback",
        title="Pullback",
        scale_kind="ordinal",
        scale_min=None,
        scale_max=None,
        unit="",
    )
    add_options(ordinal, "none", "some", "most", "all")
    categorical = IssueFactory(
        talk=talk,
        key="rule",
        title="Rule",
        scale_kind="categorical",
        scale_min=None,
        scale_max=None,
        unit="",
    )
    add_options(categorical, "a", "b", "c")
    users = {}
    for role in ("analyst", "mediator", "viewer"):
        users[role] = UserFactory(username=f"small-{role}")
        MembershipFactory(user=users[role], talk=talk, role=role)
    outsider = UserFactory(username="outsider")
    other = TalkFactory(slug="other", title="Other talk")
    MembershipFactory(user=outsider, talk=other, role=Membership.Role.ANALYST)
    return SmallTalk(
        talk=talk,
        north=north,
        south=south,
        broker=broker,
        numeric=numeric,
        ordinal=ordinal,
        categorical=categorical,
        analyst=users["analyst"],
        mediator=users["mediator"],
        viewer=users["viewer"],
        outsider=outsider,
    )


@pytest.fixture
def demo(db, django_capture_on_commit_callbacks):
    """The Gaza demo talk, loaded by the management command, its summaries computed."""
    from django.core.management import call_command

    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_demo", stdout=io.StringIO())
    return Talk.objects.get(slug="gaza-ceasefire")


def record(st: SmallTalk, issue, party, layer: str = "declared", **values):
    """Record a position through the service, as an analyst would from the page."""
    from positions.models import Interface
    from positions.services import PositionInput, position_create

    return position_create(
        issue=issue,
        party=party,
        layer=layer,
        data=PositionInput(**values),
        by=st.analyst,
        via=Interface.WEB,
        note="first estimate",
    )


@pytest.fixture
def filled_talk(small_talk, django_capture_on_commit_callbacks) -> SmallTalk:
    """small_talk with positions on both layers and computed summaries.

    Declared: a gap on the numeric issue, a zone on the ordinal and categorical ones.
    Assessed: the numeric issue has a zone, and North's red line there (70 days) appears
    nowhere on the declared layer.
    """
    st = small_talk
    with django_capture_on_commit_callbacks(execute=True):
        record(st, st.numeric, st.north, demand=10, red_line=40)
        record(st, st.numeric, st.south, demand=90, red_line=60)
        record(st, st.numeric, st.north, "assessed", demand=10, red_line=70)
        record(st, st.numeric, st.south, "assessed", demand=90, red_line=50)
        record(st, st.ordinal, st.north, demand="none", red_line="most")
        record(st, st.ordinal, st.south, demand="all", red_line="some")
        record(st, st.categorical, st.north, demand="a", acceptable=frozenset({"a", "b"}))
        record(st, st.categorical, st.south, demand="c", acceptable=frozenset({"b", "c"}))
    return st
