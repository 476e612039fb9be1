"""Where the server-rendered charts put things (no rendering, no database)."""

import datetime as dt

import pytest

from issues import gaps
from talks import charts
from talks.dashboard import PositionView, SummaryView

NOW = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)


def view(party, demand, red_line, label=str):
    return PositionView(
        party_id=1,
        party=party,
        position_id=1,
        version=1,
        demand=demand,
        red_line=red_line,
        acceptable=(),
        priority=3,
        confidence="medium",
        status="stated",
        rationale="",
        conditions="",
        updated_at=NOW,
        updated_by=None,
        demand_label=label(demand),
        red_line_label=label(red_line),
    )


def summary(status, figures, pending=False):
    return SummaryView(
        status=status,
        gap=figures.get("gap"),
        zone_width=figures.get("zone_width"),
        demand_spread=0.5,
        narrative="words",
        figures=figures,
        trend={},
        pending=pending,
        computed_at=NOW,
        computed_rev=1,
        requested_rev=1,
    )


NUMERIC = gaps.Scale(kind=gaps.ScaleKind.NUMERIC, minimum=0, maximum=100, unit="days")


def compute(scale, *positions):
    result = gaps.compute_issue(
        gaps.IssueInput(
            key="k",
            title="K",
            priority=3,
            scale=scale,
            principals=tuple(p.party for p in positions),
            positions=positions,
        )
    )
    return result.to_dict()


def x(value, low=0.0, high=100.0):
    return charts.PLOT_LEFT + (value - low) / (high - low) * (charts.PLOT_RIGHT - charts.PLOT_LEFT)


def test_nice_ticks_cover_the_scale_with_round_steps():
    assert charts.nice_ticks(0, 100) == [0, 20, 40, 60, 80, 100]
    assert charts.nice_ticks(0, 150) == [0, 50, 100, 150]
    assert charts.nice_ticks(0, 365) == [0, 100, 200, 300, 365]
    assert charts.nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1]


def test_a_gap_is_drawn_between_the_closest_red_lines():
    figures = compute(
        NUMERIC,
        gaps.PartyPosition("North", 10, 40),
        gaps.PartyPosition("South", 90, 60),
    )
    chart = charts.scale_chart(
        title="Truce",
        scale=NUMERIC,
        principals=["North", "South"],
        cells=[view("North", 10.0, 40.0), view("South", 90.0, 60.0)],
        summary=summary("gap", figures),
    )
    assert chart.zone is None
    assert chart.gap.x == pytest.approx(x(40))
    assert chart.gap.width == pytest.approx(x(60) - x(40))
    north, south = chart.bars
    assert (north.x1, north.x2, north.demand_x) == pytest.approx((x(10), x(40), x(10)))
    assert south.red_line_x == pytest.approx(x(60))
    assert chart.bridging_x is not None
    assert x(40) <= chart.bridging_x <= x(60)
    assert "North wants 10.0; red line 40.0." in chart.desc


def test_a_zone_is_shaded_and_a_missing_party_is_said():
    figures = compute(
        NUMERIC,
        gaps.PartyPosition("North", 10, 70),
        gaps.PartyPosition("South", 90, 50),
    )
    chart = charts.scale_chart(
        title="Truce",
        scale=NUMERIC,
        principals=["North", "South", "West"],
        cells=[view("North", 10.0, 70.0), view("South", 90.0, 50.0), None],
        summary=summary("zone", figures, pending=True),
    )
    assert chart.zone.x == pytest.approx(x(50))
    assert chart.zone.width == pytest.approx(x(70) - x(50))
    assert [m.party for m in chart.missing] == ["West"]
    assert "West: no position." in chart.desc
    assert "recomputation is pending" in chart.desc


def test_ordinal_options_are_evenly_spaced_and_their_labels_wrapped():
    scale = gaps.Scale(
        kind=gaps.ScaleKind.ORDINAL,
        options=(
            gaps.Option("none", "no withdrawal"),
            gaps.Option("phased", "a phased withdrawal tied to hostage releases"),
            gaps.Option("all", "all"),
        ),
    )
    chart = charts.scale_chart(
        title="Withdrawal",
        scale=scale,
        principals=["North"],
        cells=[view("North", "none", "phased")],
        summary=None,
    )
    assert [t.x for t in chart.ticks] == pytest.approx([x(0, 0, 2), x(1, 0, 2), x(2, 0, 2)])
    assert chart.ticks[1].lines == ("a phased withdrawal", "tied to hostage", "releases")
    assert chart.bars[0].x2 == pytest.approx(x(1, 0, 2))
    assert chart.zone is None
    assert chart.gap is None
    assert chart.bridging_x is None


def test_the_maximum_of_a_labelled_scale_is_named_on_the_axis():
    scale = gaps.Scale(
        kind=gaps.ScaleKind.NUMERIC, minimum=0, maximum=365, unit="days", max_label="permanent"
    )
    chart = charts.scale_chart(
        title="Ceasefire", scale=scale, principals=[], cells=[], summary=None
    )
    assert chart.ticks[-1].lines == ("permanent",)


def test_the_sparkline_rises_with_the_gap_and_falls_to_the_baseline_in_a_zone():
    history = [
        (NOW, "gap", 0.4),
        (NOW + dt.timedelta(hours=1), "gap", 0.2),
        (NOW + dt.timedelta(hours=3), "zone", 0.0),
    ]
    spark = charts.sparkline(history=history)
    first, second, third = spark.points
    assert first.y < second.y < third.y == spark.baseline_y
    assert first.x < second.x < third.x
    assert (third.x - second.x) == pytest.approx(2 * (second.x - first.x))
    assert "3 computed summaries" in spark.desc
    assert charts.sparkline(history=[]).desc == "No summary has been computed yet."
