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
