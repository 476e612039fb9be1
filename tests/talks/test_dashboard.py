import datetime as dt

import pytest
from django.utils import timezone

from positions.models import Interface
from positions.services import PositionInput, position_create, position_delete, position_update
from talks.dashboard import talk_dashboard
from tests.factories import IssueFactory, PartyFactory, TalkPartyFactory

pytestmark = pytest.mark.django_db


def write(st, issue, party, data, layer="declared"):
    return position_create(
        issue=issue,
        party=party,
        layer=layer,
        data=data,
        by=st.analyst,
        via=Interface.WEB,
        note="estimate",
    )


@pytest.fixture
def filled(small_talk, django_capture_on_commit_callbacks):
    st = small_talk
    with django_capture_on_commit_callbacks(execute=True):
        write(st, st.numeric, st.north, PositionInput(demand=10, red_line=40))
        write(st, st.numeric, st.south, PositionInput(demand=90, red_line=60))
        write(st, st.ordinal, st.north, PositionInput(demand="none", red_line="most"))
        write(st, st.ordinal, st.south, PositionInput(demand="all", red_line="some"))
        write(
            st,
            st.categorical,
            st.north,
            PositionInput(demand="a", acceptable=frozenset({"a", "b"})),
        )
    return st


def test_the_dashboard_shows_each_principal_with_labels_and_each_summary(filled):
    st = filled
    board = talk_dashboard(talk=st.talk, layer="declared")
    assert [p.name for p in board.principals] == ["North", "South"]  # mediators excluded
    rows = {row.issue.key: row for row in board.rows}
    north, south = rows["truce"].cells
    assert (north.demand_label, north.red_line_label) == ("10 days", "40 days")
    assert south.red_line == 60.0
    assert rows["truce"].summary.status == "gap"
    assert rows["truce"].summary.gap == pytest.approx(0.2)
    assert rows["truce"].summary.blocking_parties
    assert rows["pullback"].summary.status == "zone"
    north_cat, south_cat = rows["rule"].cells
    assert north_cat.red_line_label == "a; b"
    assert south_cat is None
    assert rows["rule"].summary.status == "insufficient"
    assert not board.rollup.deal_feasible
    assert not board.pending


def test_the_dashboard_reads_as_of_a_past_moment_from_history(
    filled, django_capture_on_commit_callbacks
):
    st = filled
    before = timezone.now()
    position = st.numeric.positions.get(party=st.south, layer="declared")
    with django_capture_on_commit_callbacks(execute=True):
        position_update(
            position=position,
            based_on_version=1,
            data=PositionInput(demand=90, red_line=30),
            by=st.analyst,
            via=Interface.API,
            note="south softens",
        )
        north = st.ordinal.positions.get(party=st.north, layer="declared")
        position_delete(
            position=north, based_on_version=1, by=st.analyst, via=Interface.WEB, note="withdrawn"
        )
    now_board = {r.issue.key: r for r in talk_dashboard(talk=st.talk, layer="declared").rows}
    assert now_board["truce"].summary.status == "zone"
    assert now_board["pullback"].cells[0] is None

    past = {
        r.issue.key: r for r in talk_dashboard(talk=st.talk, layer="declared", as_of=before).rows
    }
    assert past["truce"].cells[1].red_line == 60.0
    assert past["truce"].summary.status == "gap"
    assert past["pullback"].cells[0].demand == "none"
    ancient = talk_dashboard(talk=st.talk, layer="declared", as_of=before - dt.timedelta(days=365))
    assert all(cell is None for row in ancient.rows for cell in row.cells)


def _grow(st, n_issues: int, n_parties: int):
    parties = [PartyFactory(name=f"Extra {i}") for i in range(n_parties)]
    for party in parties:
        TalkPartyFactory(talk=st.talk, party=party)
    for i in range(n_issues):
        issue = IssueFactory(talk=st.talk, key=f"extra-{i}", scale_max=100)
        for party in [st.north, st.south, *parties]:
            write(st, issue, party, PositionInput(demand=10 + i, red_line=50))


@pytest.mark.parametrize("as_of", [False, True], ids=["current", "as-of"])
def test_dashboard_queries_do_not_grow_with_the_talk(filled, as_of, django_assert_num_queries):
    st = filled
    when = timezone.now() + dt.timedelta(seconds=1) if as_of else None

    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            talk_dashboard(talk=st.talk, layer="declared", as_of=when)
        return len(ctx.captured_queries)

    small = count()
    _grow(st, n_issues=6, n_parties=3)
    assert count() == small
    with django_assert_num_queries(small):
        talk_dashboard(talk=st.talk, layer="declared", as_of=when)
