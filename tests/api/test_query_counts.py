"""Every list of the API, and the dashboard, costs the same number of queries however many
rows it returns: measured on the small talk, then again after it has grown."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from positions.models import Proposal
from positions.services import (
    PhaseInput,
    PositionInput,
    ProposalInput,
    TermInput,
    position_update,
    proposal_create,
    proposal_term_set,
)
from talks.models import Round
from tests.api_support import write_position
from tests.factories import IssueFactory, PartyFactory, SourceFactory, TalkPartyFactory, add_options
from tests.test_api_access import api_routes

pytestmark = pytest.mark.django_db

# Path arguments of the lists nested under an object.
NESTED = {
    "api:issue-option-list": lambda f: {"issue_pk": f.st.categorical.pk},
    "api:position-revisions": lambda f: {"position_pk": f.north_truce.pk},
    "api:gap-history": lambda f: {"issue_pk": f.st.numeric.pk, "layer": "declared"},
    "api:proposal-revisions": lambda f: {"proposal_pk": a_proposal(f).pk},
}


def a_proposal(f) -> Proposal:
    """A shared proposal of the small talk (viewers read it too), made on first use."""
    if not hasattr(f, "proposal"):
        f.proposal = proposal_create(
            talk=f.st.talk,
            data=ProposalInput(
                title="Package",
                mediator_id=f.st.broker.pk,
                status="shared",
                terms=(TermInput("truce", 1, 50),),
            ),
            by=f.st.mediator,
            via="web",
        )
    return f.proposal


CSV_LISTS = {
    "api:position-list",
    "api:position-revisions",
    "api:revision-list",
    "api:gap-list",
    "api:gap-history",
}


def list_urls(f) -> dict[str, str]:
    urls = {}
    for name, (pattern, callback) in api_routes().items():
        actions = getattr(callback, "actions", {}) or {}
        if actions.get("get") != "list":
            continue
        assert "<" not in pattern or name in NESTED, f"{name}: add its path arguments to NESTED"
        url = "/" + pattern
        for key, value in NESTED.get(name, lambda f: {})(f).items():
            url = url.replace(f"<int:{key}>", str(value)).replace(f"<slug:{key}>", str(value))
        urls[name] = url
    return urls


def queries(client, url, params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
        assert response.status_code == 200, (url, response.content[:300])
        if response.streaming:
            b"".join(response.streaming_content)
    return len(ctx.captured_queries)


def grow(f, capture) -> None:
    st = f.st
    parties = [PartyFactory(name=f"Extra {i}") for i in range(3)]
    for party in parties:
        TalkPartyFactory(talk=st.talk, party=party)
    with capture(execute=True):
        for i in range(5):
            issue = IssueFactory(talk=st.talk, key=f"extra-{i}", scale_max=100)
            for party in [st.north, st.south, *parties]:
                for layer in ("declared", "assessed"):
                    write_position(
                        st, issue, party, PositionInput(demand=10 + i, red_line=60), layer
                    )
            ordinal = IssueFactory(
                talk=st.talk, key=f"ord-{i}", scale_kind="ordinal", scale_min=None, scale_max=None
            )
            add_options(ordinal, "x", "y", "z")
            write_position(st, ordinal, st.north, PositionInput(demand="x", red_line="y"))
        for version, red_line in enumerate((35, 30, 25, 20), start=1):
            f.north_truce.refresh_from_db()
            position_update(
                position=f.north_truce,
                based_on_version=version,
                data=PositionInput(demand=10, red_line=red_line),
                by=st.analyst,
                via="web",
                note="moves",
            )
            f.south_truce.refresh_from_db()
            position_update(
                position=f.south_truce,
                based_on_version=version,
                data=PositionInput(demand=90, red_line=60 - version * 5),
                by=st.analyst,
                via="web",
                note="moves",
            )
    proposal = Proposal.objects.get(pk=a_proposal(f).pk)
    for value in (55, 60, 65):
        proposal = proposal_term_set(
            proposal=proposal,
            based_on_version=proposal.version,
            term=TermInput("truce", 1, value),
            by=st.mediator,
            via="web",
        )
    for i in range(4):
        proposal_create(
            talk=st.talk,
            data=ProposalInput(
                title=f"Package {i}",
                mediator_id=st.broker.pk,
                status="shared" if i % 2 else "draft",
                phases=(PhaseInput(1), PhaseInput(2)),
                terms=(TermInput("truce", 1, 40 + i), TermInput("pullback", 2, "most")),
            ),
            by=st.mediator,
            via="web",
        )
    for i in range(8):
        SourceFactory(talk=st.talk, title=f"Source {i}")
        Round.objects.create(talk=st.talk, number=10 + i, starts_on=dt.date(2026, 9, 1 + i))
    add_options(
        IssueFactory(
            talk=st.talk, key="cat", scale_kind="categorical", scale_min=None, scale_max=None
        ),
        "p",
        "q",
        "r",
        "s",
    )


@pytest.mark.parametrize("role", ["analyst", "viewer"])
def test_list_queries_do_not_grow_with_the_rows(
    api_talk, role, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    f = api_talk
    client = f.client(role)
    urls = list_urls(f)
    if role == "viewer":
        urls = {n: u for n, u in urls.items() if "assessed" not in u}
    variants = {
        (name, fmt): (url, {"page_size": 500, **({"format": "csv"} if fmt else {})})
        for name, url in urls.items()
        for fmt in ((None, "csv") if name in CSV_LISTS else (None,))
    }
    as_of = (timezone.now() + dt.timedelta(hours=1)).isoformat()
    variants[("api:position-list", "as_of")] = (urls["api:position-list"], {"as_of": as_of})
    variants[("api:gap-list", "as_of")] = (urls["api:gap-list"], {"as_of": as_of})
    small = {key: queries(client, url, params) for key, (url, params) in variants.items()}
    rows_before = len(client.get(urls["api:position-list"], {"page_size": 500}).json()["results"])

    grow(f, django_capture_on_commit_callbacks)

    rows_after = len(client.get(urls["api:position-list"], {"page_size": 500}).json()["results"])
    assert rows_after >= rows_before + 20
    for key, (url, params) in variants.items():
        with django_assert_max_num_queries(small[key], info=str(key)):
            response = client.get(url, params)
            if response.streaming:
                b"".join(response.streaming_content)


@pytest.mark.parametrize("as_of", [False, True], ids=["current", "as-of"])
def test_dashboard_queries_do_not_grow_with_the_talk(
    api_talk, as_of, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    f = api_talk
    client = f.client("mediator")
    params = {"as_of": (timezone.now() + dt.timedelta(hours=1)).isoformat()} if as_of else {}
    url = "/api/v1/talks/small/dashboard/"
    cache.clear()
    small = queries(client, url, params)
    grow(f, django_capture_on_commit_callbacks)
    cache.clear()  # measure the full build, not the cached answer
    with django_assert_max_num_queries(small):
        response = client.get(url, params)
    issues = response.json()["layers"]["assessed"]["issues"]
    assert len(issues) == 14
    assert len(issues[0]["positions"]) == 5


@pytest.mark.parametrize("suffix", ["", "evaluation/?layer=assessed", "compare/"])
def test_a_proposals_reads_do_not_grow_with_the_talk(
    api_talk, suffix, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    f = api_talk
    client = f.client("mediator")
    proposal = proposal_term_set(
        proposal=a_proposal(f),
        based_on_version=1,
        term=TermInput("pullback", 1, "some"),
        by=f.st.mediator,
        via="web",
    )
    url = f"/api/v1/proposals/{proposal.pk}/{suffix}"
    small = queries(client, url, {})
    grow(f, django_capture_on_commit_callbacks)
    with django_assert_max_num_queries(small, info=url):
        response = client.get(url)
    assert response.json()["version" if not suffix.startswith("compare") else "after"]
