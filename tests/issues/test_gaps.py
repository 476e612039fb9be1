"""The gap engine: worked examples from the Gaza talks, and its properties under hypothesis."""

import json
import statistics
import time
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from issues.gaps import (
    ACCEPTABLE_NOT_USED,
    ACCEPTABLE_REQUIRED,
    DEMAND_NOT_ACCEPTABLE,
    NUMBER_REQUIRED,
    OPTION_REQUIRED,
    OUTSIDE_SCALE,
    PRIORITY_OUT_OF_RANGE,
    RED_LINE_REQUIRED,
    SCALE_BOUNDS_ORDER,
    SCALE_BOUNDS_REQUIRED,
    SCALE_OPTIONS_DUPLICATE,
    SCALE_OPTIONS_REQUIRED,
    UNKNOWN_OPTION,
    AcceptableSet,
    IssueGap,
    IssueInput,
    Option,
    PairGap,
    PartyPosition,
    Scale,
    ScaleKind,
    Status,
    TrendDirection,
    Zone,
    compute_issue,
    describe_value,
    rollup,
    trend,
    validate_position,
    validate_scale,
)

BOUNDED = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

PRINCIPALS = ("Israel", "Hamas")

WITHDRAWAL = Scale(
    ScaleKind.ORDINAL,
    options=(
        Option("none", "no withdrawal"),
        Option("buffer", "a perimeter buffer zone"),
        Option("phased", "a phased withdrawal tied to hostage releases"),
        Option("full", "full withdrawal with security arrangements"),
        Option("complete", "complete and unconditional withdrawal"),
    ),
)
PRISONERS = Scale(ScaleKind.NUMERIC, minimum=0, maximum=150, unit="prisoners per hostage")
GOVERNANCE = Scale(
    ScaleKind.CATEGORICAL,
    options=(
        Option("hamas", "Hamas retaining control"),
        Option("pa", "the Palestinian Authority"),
        Option("technocratic", "a technocratic committee"),
        Option("arab_force", "an international or Arab force"),
        Option("israeli_control", "Israeli security control"),
    ),
)
CEASEFIRE = Scale(ScaleKind.NUMERIC, minimum=0, maximum=365, unit="days", max_label="permanent")


def make_issue(
    scale: Scale, *positions: PartyPosition, principals: tuple[str, ...] = PRINCIPALS
) -> IssueInput:
    return IssueInput(
        key="issue",
        title="Issue",
        priority=3,
        scale=scale,
        principals=principals,
        positions=positions,
    )


def withdrawal_as_declared() -> IssueInput:
    return make_issue(
        WITHDRAWAL,
        PartyPosition("Israel", "buffer", "phased", version=4),
        PartyPosition("Hamas", "complete", "complete", version=2),
    )


def prisoners_as_declared() -> IssueInput:
    return make_issue(
        PRISONERS,
        PartyPosition("Israel", 10, 30),
        PartyPosition("Hamas", 100, 50),
    )


def governance_as_declared() -> IssueInput:
    return make_issue(
        GOVERNANCE,
        PartyPosition(
            "Israel",
            "israeli_control",
            None,
            frozenset({"technocratic", "arab_force", "israeli_control"}),
        ),
        PartyPosition("Hamas", "hamas", None, frozenset({"hamas", "technocratic"})),
    )


def ceasefire_as_declared() -> IssueInput:
    return make_issue(
        CEASEFIRE,
        PartyPosition("Israel", 42, 90),
        PartyPosition("Hamas", 365, 365),
    )


# --- Worked examples: withdrawal (ordinal) -------------------------------------------------


def test_withdrawal_gap_is_two_steps_of_four():
    result = compute_issue(withdrawal_as_declared())

    assert result.status == Status.GAP
    assert result.gap == 0.5
    assert result.zone is None
    assert result.zone_width == 0.0
    assert result.demand_spread == 0.75  # buffer zone to complete: 3 steps of 4


def test_withdrawal_acceptable_sets_run_from_demand_to_red_line():
    result = compute_issue(withdrawal_as_declared())

    assert result.acceptable == (
        AcceptableSet("Hamas", "complete", "complete", ("complete",)),
        AcceptableSet("Israel", "buffer", "phased", ("buffer", "phased")),
    )


def test_withdrawal_is_blocked_by_israels_red_line_against_hamass_demand():
    blocking = compute_issue(withdrawal_as_declared()).blocking

    assert blocking is not None
    assert blocking.high_side == "Hamas"
    assert blocking.low_side == "Israel"
    assert blocking.amount == 2.0
    assert blocking.share == 0.5
    assert blocking.either_of == ("Hamas", "Israel")


def test_withdrawal_narrative_names_both_limits_and_the_steps_between():
    result = compute_issue(withdrawal_as_declared())

    assert result.narrative == (
        "Israel's red line stops at a phased withdrawal tied to hostage releases; "
        "Hamas accepts nothing short of complete and unconditional withdrawal: two steps apart."
    )


def test_withdrawal_bridging_with_equal_priorities_takes_the_lowest_of_equal_points():
    bridging = compute_issue(withdrawal_as_declared()).bridging

    assert bridging is not None
    assert bridging.point == "phased"
    assert {c.party: (c.share, c.amount) for c in bridging.concessions} == {
        "Hamas": (0.5, 2.0),
        "Israel": (0.0, 0.0),
    }


def test_bridging_point_leans_toward_the_party_that_cares_more():
    issue = make_issue(
        WITHDRAWAL,
        PartyPosition("Israel", "buffer", "phased", priority=2),
        PartyPosition("Hamas", "complete", "complete", priority=5),
    )

    bridging = compute_issue(issue).bridging

    assert bridging is not None
    assert bridging.point == "complete"
    assert {c.party: c.amount for c in bridging.concessions} == {"Hamas": 0.0, "Israel": 2.0}


def test_result_carries_the_position_versions_sorted_by_party():
    assert compute_issue(withdrawal_as_declared()).versions == (("Hamas", 2), ("Israel", 4))


def test_ordinal_zone_reports_the_option_keys_at_its_ends():
    issue = make_issue(
        WITHDRAWAL,
        PartyPosition("Israel", "buffer", "full"),
        PartyPosition("Hamas", "complete", "phased"),
    )

    result = compute_issue(issue)

    assert result.status == Status.ZONE
    assert result.zone == Zone("phased", "full", ("phased", "full"))
    assert result.zone_width == 0.25
    assert result.gap == 0.0
    assert result.narrative == (
        "A zone of agreement exists between a phased withdrawal tied to hostage releases "
        "and full withdrawal with security arrangements."
    )


def test_ordinal_zone_of_one_option_has_zero_width_but_is_a_zone():
    issue = make_issue(
        WITHDRAWAL,
        PartyPosition("Israel", "buffer", "full"),
        PartyPosition("Hamas", "complete", "full"),
    )

    result = compute_issue(issue)

    assert result.status == Status.ZONE
    assert result.zone_width == 0.0
    assert result.gap == 0.0
    assert result.narrative == (
        "A zone of agreement exists at full withdrawal with security arrangements only."
    )


def test_ordinal_gap_held_by_a_demand_is_not_called_a_red_line():
    issue = make_issue(
        WITHDRAWAL,
        PartyPosition("Israel", "buffer", "none"),
        PartyPosition("Hamas", "full", "complete"),
    )

    narrative = compute_issue(issue).narrative

    assert narrative.startswith("Israel goes no further than a perimeter buffer zone;")
    assert narrative.endswith(": two steps apart.")


# --- Worked examples: prisoners per hostage (numeric) -------------------------------------


def test_prisoner_ratio_gap_is_twenty_of_one_hundred_fifty():
    result = compute_issue(prisoners_as_declared())

    assert result.status == Status.GAP
    assert result.gap == round(20 / 150, 6)
    assert result.demand_spread == 0.6  # demands 10 and 100 on a 150-wide scale


def test_prisoner_ratio_narrative_gives_the_gap_in_the_scales_unit():
    result = compute_issue(prisoners_as_declared())

    assert result.narrative == (
        "Israel will go no higher than 30 prisoners per hostage; "
        "Hamas wants at least 50: a gap of 20 prisoners per hostage."
    )


def test_prisoner_ratio_min_concession_is_twenty_from_either_side():
    blocking = compute_issue(prisoners_as_declared()).blocking

    assert blocking is not None
    assert (blocking.high_side, blocking.low_side) == ("Hamas", "Israel")
    assert blocking.amount == 20.0
    assert blocking.either_of == ("Hamas", "Israel")


def test_numeric_bounds_and_bridging_point_are_floats():
    result = compute_issue(prisoners_as_declared())

    assert result.acceptable[1] == AcceptableSet("Israel", 10.0, 30.0)
    assert isinstance(result.acceptable[1].low, float)
    assert result.bridging is not None
    assert result.bridging.point == 30.0
    assert isinstance(result.bridging.point, float)


def test_numeric_zone_narrative_gives_both_ends_and_the_share_of_the_scale():
    issue = make_issue(
        PRISONERS,
        PartyPosition("Israel", 10, 60),
        PartyPosition("Hamas", 100, 50),
    )

    result = compute_issue(issue)

    assert result.zone == Zone(50.0, 60.0)
    assert result.zone_width == round(10 / 150, 6)
    assert result.narrative == (
        "A zone of agreement exists between 50 and 60 prisoners per hostage (7% of the scale)."
    )


def test_numeric_zone_of_a_single_point_is_a_zone_of_width_zero():
    issue = make_issue(
        PRISONERS,
        PartyPosition("Israel", 10, 50),
        PartyPosition("Hamas", 100, 50),
    )

    result = compute_issue(issue)

    assert result.status == Status.ZONE
    assert result.zone == Zone(50.0, 50.0)
    assert (result.zone_width, result.gap) == (0.0, 0.0)
    assert result.narrative == "A zone of agreement exists at exactly 50 prisoners per hostage."


def test_bridging_point_in_a_zone_is_the_one_closest_to_the_weighted_demands():
    issue = make_issue(
        PRISONERS,
        PartyPosition("Israel", 10, 80, priority=5),
        PartyPosition("Hamas", 100, 40, priority=1),
    )

    bridging = compute_issue(issue).bridging

    assert bridging is not None
    assert bridging.point == 40.0
    assert all(c.share == 0.0 for c in bridging.concessions)


def test_bridging_point_stays_inside_a_zone_that_starts_a_hair_above_the_minimum():
    issue = make_issue(
        Scale(ScaleKind.NUMERIC, minimum=0, maximum=1),
        PartyPosition("Israel", 0.0, 1.0, priority=1),
        PartyPosition("Hamas", 1e-94, 1.0, priority=1),
    )

    bridging = compute_issue(issue).bridging

    assert bridging is not None
    assert bridging.point == 1e-94


def test_a_tiny_gap_never_rounds_to_zero_nor_does_the_concession_to_close_it():
    issue = make_issue(
        PRISONERS,
        PartyPosition("Israel", 0.0, 0.0),
        PartyPosition("Hamas", 1.0, 6.103515625e-05),
    )

    result = compute_issue(issue)

    assert result.status == Status.GAP
    assert result.gap == 1e-6
    assert result.bridging is not None
    assert max(c.share for c in result.bridging.concessions) == 1e-6


def test_fractional_figures_are_written_without_trailing_zeros():
    issue = make_issue(
        PRISONERS,
        PartyPosition("Israel", 10, 30.5),
        PartyPosition("Hamas", 100, 43),
    )

    assert compute_issue(issue).narrative == (
        "Israel will go no higher than 30.5 prisoners per hostage; "
        "Hamas wants at least 43: a gap of 12.5 prisoners per hostage."
    )


def test_a_gap_of_one_unit_uses_the_singular():
    issue = make_issue(CEASEFIRE, PartyPosition("Israel", 42, 90), PartyPosition("Hamas", 91, 91))

    assert compute_issue(issue).narrative.endswith("a gap of 1 day.")


def test_decimal_values_are_accepted_as_numbers():
    issue = make_issue(
        PRISONERS,
        PartyPosition("Israel", Decimal(10), Decimal("30.0")),  # type: ignore[arg-type]
        PartyPosition("Hamas", Decimal(100), Decimal(50)),  # type: ignore[arg-type]
    )

    assert compute_issue(issue) == compute_issue(prisoners_as_declared())


@pytest.mark.parametrize(
    ("scale", "value", "said"),
    [
        (CEASEFIRE, 60.0, "60 days"),
        (CEASEFIRE, 365.0, "permanent"),
        (CEASEFIRE, 1.0, "1 day"),
        (PRISONERS, 12.5, "12.5 prisoners per hostage"),
        (WITHDRAWAL, "phased", "a phased withdrawal tied to hostage releases"),
        (GOVERNANCE, "unknown", "unknown"),
    ],
)
def test_a_scale_value_is_described_as_people_say_it(scale, value, said):
    assert describe_value(scale, value) == said


# --- Worked examples: governance (categorical) --------------------------------------------


def test_governance_zone_is_the_technocratic_committee():
    result = compute_issue(governance_as_declared())

    assert result.status == Status.ZONE
    assert result.zone == Zone(None, None, ("technocratic",))
    assert result.zone_width == 0.2
    assert result.gap == 0.0
    assert result.demand_spread == 0.5  # one of two principals is off the top demand
    assert result.bridging is not None
    assert result.bridging.point == "technocratic"


def test_governance_acceptable_sets_are_listed_in_scale_order():
    result = compute_issue(governance_as_declared())

    assert result.acceptable == (
        AcceptableSet("Hamas", None, None, ("hamas", "technocratic")),
        AcceptableSet("Israel", None, None, ("technocratic", "arab_force", "israeli_control")),
    )


def test_governance_narrative_names_the_shared_option_and_the_principals_in_talk_order():
    result = compute_issue(governance_as_declared())

    assert result.narrative == (
        "A zone of agreement exists: a technocratic committee is acceptable to both Israel "
        "and Hamas."
    )


def test_governance_without_a_shared_option_needs_one_party_to_add_one():
    issue = make_issue(
        GOVERNANCE,
        PartyPosition("Israel", "israeli_control", None, frozenset({"israeli_control"})),
        PartyPosition("Hamas", "hamas", None, frozenset({"hamas", "technocratic"}), priority=5),
    )

    result = compute_issue(issue)

    assert result.status == Status.GAP
    assert result.gap == 0.5
    assert result.blocking is not None
    # Three options are each acceptable to one party; asking Israel (priority 3) to move
    # costs less than asking Hamas (priority 5), and "hamas" comes first in scale order.
    assert result.blocking.option == "hamas"
    assert result.blocking.must_add == ("Israel",)
    assert result.blocking.amount == 1.0
    assert result.narrative == (
        "No option is acceptable to both Israel and Hamas; the nearest is Hamas retaining "
        "control, which Israel would have to accept."
    )


def test_categorical_gap_among_three_counts_principals_that_would_have_to_move():
    issue = make_issue(
        GOVERNANCE,
        PartyPosition("Israel", "israeli_control", None, frozenset({"israeli_control", "pa"})),
        PartyPosition("Hamas", "hamas", None, frozenset({"hamas"})),
        PartyPosition("Fatah", "pa", None, frozenset({"pa"})),
        principals=("Israel", "Hamas", "Fatah"),
    )

    result = compute_issue(issue)

    assert result.gap == round(1 / 3, 6)
    assert result.blocking is not None
    assert result.blocking.option == "pa"
    assert result.blocking.must_add == ("Hamas",)
    assert result.demand_spread == round(2 / 3, 6)
    assert result.narrative == (
        "No option is acceptable to all 3 principals; the nearest is the Palestinian "
        "Authority, which Hamas would have to accept."
    )


# --- Worked examples: ceasefire (numeric with a "permanent" maximum) -------------------------


def test_ceasefire_gap_runs_from_ninety_days_to_permanent():
    result = compute_issue(ceasefire_as_declared())

    assert result.status == Status.GAP
    assert result.gap == round(275 / 365, 6)
    assert result.blocking is not None
    assert result.blocking.amount == 275.0


def test_ceasefire_narrative_says_permanent_for_the_maximum():
    result = compute_issue(ceasefire_as_declared())

    assert result.narrative == (
        "Israel will go no higher than 90 days; Hamas accepts nothing short of permanent: "
        "a gap of 275 days."
    )


def test_zone_reaching_the_maximum_is_described_with_its_label():
    issue = make_issue(CEASEFIRE, PartyPosition("Israel", 42, 365), PartyPosition("Hamas", 365, 90))

    result = compute_issue(issue)

    assert result.zone == Zone(90.0, 365.0)
    assert result.narrative == (
        "A zone of agreement exists between 90 days and permanent (75% of the scale)."
    )


# --- Missing positions, mediators, several principals -------------------------------------


def test_a_missing_principal_makes_the_issue_insufficient_and_is_named():
    issue = make_issue(PRISONERS, PartyPosition("Israel", 10, 30))

    result = compute_issue(issue)

    assert result.status == Status.INSUFFICIENT
    assert result.missing == ("Hamas",)
    assert result.narrative == "No position yet for Hamas."
    assert (result.gap, result.zone_width, result.demand_spread) == (0.0, 0.0, 0.0)
    assert result.bridging is None
    assert result.blocking is None
    assert result.pairwise == ()


def test_no_position_at_all_names_every_principal():
    result = compute_issue(make_issue(PRISONERS))

    assert result.narrative == "No position yet for Israel or Hamas."


def test_mediators_positions_do_not_count():
    issue = make_issue(
        PRISONERS,
        PartyPosition("Israel", 10, 30),
        PartyPosition("Egypt", 40, 40),
        PartyPosition("Qatar", 45, 45),
    )

    result = compute_issue(issue)

    assert result.status == Status.INSUFFICIENT
    assert [a.party for a in result.acceptable] == ["Israel"]


def test_pairwise_table_covers_every_pair_of_principals_with_a_position():
    issue = make_issue(
        PRISONERS,
        PartyPosition("Israel", 10, 30),
        PartyPosition("Hamas", 100, 50),
        PartyPosition("Fatah", 20, 60),
        principals=("Israel", "Hamas", "Fatah"),
    )

    result = compute_issue(issue)

    assert result.pairwise == (
        PairGap("Fatah", "Hamas", Status.ZONE, 0.0, round(10 / 150, 6)),
        PairGap("Fatah", "Israel", Status.ZONE, 0.0, round(10 / 150, 6)),
        PairGap("Hamas", "Israel", Status.GAP, round(20 / 150, 6), 0.0),
    )
    assert result.narrative.endswith(
        "a gap of 20 prisoners per hostage, the widest apart of the 3 principals."
    )


def test_neither_side_can_open_a_zone_alone_when_a_third_principal_sits_between():
    issue = make_issue(
        PRISONERS,
        PartyPosition("A", 0, 10),
        PartyPosition("B", 20, 30),
        PartyPosition("C", 50, 40),
        principals=("A", "B", "C"),
    )

    blocking = compute_issue(issue).blocking

    assert blocking is not None
    assert (blocking.high_side, blocking.low_side, blocking.amount) == ("C", "A", 30.0)
    assert blocking.either_of == ()


def test_either_side_can_open_a_zone_alone_when_the_third_principal_is_flexible():
    issue = make_issue(
        PRISONERS,
        PartyPosition("A", 0, 10),
        PartyPosition("B", 0, 50),
        PartyPosition("C", 50, 40),
        principals=("A", "B", "C"),
    )

    blocking = compute_issue(issue).blocking

    assert blocking is not None
    assert blocking.either_of == ("A", "C")


def test_ties_for_the_blocking_pair_go_to_the_first_name():
    issue = make_issue(
        PRISONERS,
        PartyPosition("Zed", 0, 10),
        PartyPosition("Abe", 0, 10),
        PartyPosition("Kim", 50, 40),
        principals=("Zed", "Abe", "Kim"),
    )

    blocking = compute_issue(issue).blocking

    assert blocking is not None
    assert (blocking.high_side, blocking.low_side) == ("Kim", "Abe")
    assert blocking.either_of == ("Kim",)


# --- Validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scale", "demand", "red_line", "acceptable", "expected"),
    [
        (PRISONERS, 10, 30, frozenset(), {}),
        (PRISONERS, 10, 151, frozenset(), {"red_line": OUTSIDE_SCALE}),
        (PRISONERS, -1, 30, frozenset(), {"demand": OUTSIDE_SCALE}),
        (PRISONERS, "ten", 30, frozenset(), {"demand": NUMBER_REQUIRED}),
        (PRISONERS, True, 30, frozenset(), {"demand": NUMBER_REQUIRED}),
        (PRISONERS, float("nan"), 30, frozenset(), {"demand": NUMBER_REQUIRED}),
        (PRISONERS, 10, None, frozenset(), {"red_line": RED_LINE_REQUIRED}),
        (PRISONERS, 10, 30, frozenset({"x"}), {"acceptable": ACCEPTABLE_NOT_USED}),
        (WITHDRAWAL, "buffer", "phased", frozenset(), {}),
        (WITHDRAWAL, "buffer", "nowhere", frozenset(), {"red_line": UNKNOWN_OPTION}),
        (WITHDRAWAL, 1, "phased", frozenset(), {"demand": OPTION_REQUIRED}),
        (WITHDRAWAL, "buffer", None, frozenset(), {"red_line": RED_LINE_REQUIRED}),
        (GOVERNANCE, "hamas", None, frozenset({"hamas"}), {}),
        (GOVERNANCE, "hamas", None, frozenset(), {"acceptable": ACCEPTABLE_REQUIRED}),
        (GOVERNANCE, "hamas", None, frozenset({"pa"}), {"demand": DEMAND_NOT_ACCEPTABLE}),
        (GOVERNANCE, "hamas", None, frozenset({"hamas", "un"}), {"acceptable": UNKNOWN_OPTION}),
        (GOVERNANCE, "un", None, frozenset({"hamas"}), {"demand": UNKNOWN_OPTION}),
        (GOVERNANCE, 3, None, frozenset({"hamas"}), {"demand": OPTION_REQUIRED}),
    ],
)
def test_validation_returns_one_message_per_bad_field(
    scale, demand, red_line, acceptable, expected
):
    assert validate_position(scale, demand, red_line, acceptable) == expected


def test_validation_checks_the_priority_when_given():
    assert validate_position(PRISONERS, 10, 30, priority=6) == {"priority": PRIORITY_OUT_OF_RANGE}
    assert validate_position(PRISONERS, 10, 30, priority=5) == {}


@pytest.mark.parametrize(
    ("scale", "expected"),
    [
        (Scale(ScaleKind.NUMERIC, minimum=0), {"maximum": SCALE_BOUNDS_REQUIRED}),
        (Scale(ScaleKind.NUMERIC, minimum=5, maximum=5), {"maximum": SCALE_BOUNDS_ORDER}),
        (
            Scale(ScaleKind.ORDINAL, options=(Option("a", "A"),)),
            {"options": SCALE_OPTIONS_REQUIRED},
        ),
        (
            Scale(ScaleKind.CATEGORICAL, options=(Option("a", "A"), Option("a", "B"))),
            {"options": SCALE_OPTIONS_DUPLICATE},
        ),
        (CEASEFIRE, {}),
    ],
)
def test_scale_validation_names_the_bad_field(scale, expected):
    assert validate_scale(scale) == expected


def test_computing_an_invalid_position_is_refused():
    issue = make_issue(PRISONERS, PartyPosition("Israel", 10, 300), PartyPosition("Hamas", 90, 50))

    with pytest.raises(ValueError, match="red_line"):
        compute_issue(issue)


def test_two_positions_for_one_principal_are_refused():
    issue = make_issue(PRISONERS, PartyPosition("Israel", 10, 30), PartyPosition("Israel", 9, 30))

    with pytest.raises(ValueError, match="two positions"):
        compute_issue(issue)


# --- Storage, trend, roll-up ---------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [withdrawal_as_declared, prisoners_as_declared, governance_as_declared, ceasefire_as_declared],
)
def test_summary_survives_a_trip_through_json(build):
    result = compute_issue(build())

    stored = json.loads(json.dumps(result.to_dict()))

    assert IssueGap.from_dict(stored) == result


def test_figures_key_ignores_a_new_version_with_the_same_figures():
    before = compute_issue(prisoners_as_declared())
    bumped = prisoners_as_declared()
    bumped = replace(
        bumped, positions=(replace(bumped.positions[0], version=9), bumped.positions[1])
    )

    after = compute_issue(bumped)

    assert after != before
    assert after.figures_key() == before.figures_key()


def test_figures_key_changes_when_a_red_line_moves():
    before = compute_issue(prisoners_as_declared())
    moved = make_issue(PRISONERS, PartyPosition("Israel", 10, 40), PartyPosition("Hamas", 100, 50))

    assert compute_issue(moved).figures_key() != before.figures_key()


def test_figures_key_changes_when_only_a_pairwise_figure_moves():
    """A third principal widens its range beyond the other two: the issue-level gap and the
    bridging point stay, its pairwise zones grow, and that is a change of figures too."""
    three = ("Israel", "Hamas", "Fatah")

    def with_fatah_down_to(red_line):
        return make_issue(
            PRISONERS,
            PartyPosition("Israel", 10, 30),
            PartyPosition("Hamas", 100, 50),
            PartyPosition("Fatah", 60, red_line),
            principals=three,
        )

    before = compute_issue(with_fatah_down_to(20))
    after = compute_issue(with_fatah_down_to(15))

    assert (after.gap, after.zone, after.blocking) == (before.gap, before.zone, before.blocking)
    assert after.bridging.point == before.bridging.point
    assert after.pairwise != before.pairwise
    assert after.figures_key() != before.figures_key()


def test_first_summary_is_new():
    assert trend(None, compute_issue(prisoners_as_declared())).direction == TrendDirection.NEW


def test_a_smaller_gap_is_narrowed_with_a_negative_delta():
    before = compute_issue(prisoners_as_declared())
    after = compute_issue(
        make_issue(PRISONERS, PartyPosition("Israel", 10, 40), PartyPosition("Hamas", 100, 50))
    )

    result = trend(before, after)

    assert result.direction == TrendDirection.NARROWED
    assert result.delta == -0.066666  # 0.066667 - 0.133333: the stored figures' difference


def test_a_zone_opening_counts_as_narrowing():
    before = compute_issue(prisoners_as_declared())
    after = compute_issue(
        make_issue(PRISONERS, PartyPosition("Israel", 10, 60), PartyPosition("Hamas", 100, 50))
    )

    result = trend(before, after)

    assert result.direction == TrendDirection.NARROWED
    assert result.delta == round(-10 / 150 - 20 / 150, 6)


def test_a_zone_shrinking_counts_as_widening():
    before = compute_issue(
        make_issue(PRISONERS, PartyPosition("Israel", 10, 60), PartyPosition("Hamas", 100, 50))
    )
    after = compute_issue(
        make_issue(PRISONERS, PartyPosition("Israel", 10, 55), PartyPosition("Hamas", 100, 50))
    )

    assert trend(before, after).direction == TrendDirection.WIDENED


def test_same_figures_are_unchanged():
    result = compute_issue(prisoners_as_declared())

    assert trend(result, result).direction == TrendDirection.UNCHANGED
    assert trend(result, result).delta == 0.0


def test_losing_a_position_starts_over_as_new():
    before = compute_issue(prisoners_as_declared())
    after = compute_issue(make_issue(PRISONERS, PartyPosition("Israel", 10, 30)))

    assert trend(before, after).direction == TrendDirection.NEW
    assert trend(after, after).direction == TrendDirection.UNCHANGED


def test_rollup_ranks_blocking_issues_by_gap_times_priority():
    withdrawal = replace(withdrawal_as_declared(), key="withdrawal", priority=5)
    prisoners = replace(prisoners_as_declared(), key="prisoners", priority=4)
    ceasefire = replace(ceasefire_as_declared(), key="ceasefire", priority=3)
    governance = replace(governance_as_declared(), key="governance", priority=4)
    aid = make_issue(PRISONERS, PartyPosition("Israel", 10, 30))
    aid = replace(aid, key="aid")
    pairs = [(issue, compute_issue(issue)) for issue in (
        prisoners, governance, withdrawal, ceasefire, aid
    )]  # fmt: skip

    result = rollup(pairs)

    assert [b.key for b in result.blocking] == ["withdrawal", "ceasefire", "prisoners"]
    assert [b.weight for b in result.blocking] == [2.5, round(round(275 / 365, 6) * 3, 6), 0.533332]
    assert result.with_zone == ("governance",)
    assert result.insufficient == ("aid",)
    assert (result.zone_count, result.gap_count, result.insufficient_count) == (1, 3, 1)
    assert result.deal_feasible is False


def test_deal_is_feasible_only_when_every_issue_has_a_zone():
    governance = governance_as_declared()

    assert rollup([(governance, compute_issue(governance))]).deal_feasible is True
    assert rollup([]).deal_feasible is False


def test_equal_weights_rank_by_issue_key():
    first = replace(prisoners_as_declared(), key="b")
    second = replace(prisoners_as_declared(), key="a")

    result = rollup([(first, compute_issue(first)), (second, compute_issue(second))])

    assert [b.key for b in result.blocking] == ["a", "b"]


def test_an_eight_party_issue_computes_well_under_a_millisecond():
    names = tuple(f"Party {i}" for i in range(8))
    issue = make_issue(
        PRISONERS,
        *(
            PartyPosition(name, 10.0 + 17 * i, 140.0 - 13 * i, priority=1 + i % 5)
            for i, name in enumerate(names)
        ),
        principals=names,
    )
    compute_issue(issue)
    timings = []
    for _ in range(50):
        start = time.perf_counter()
        compute_issue(issue)
        timings.append(time.perf_counter() - start)

    assert statistics.median(timings) < 0.001


# --- Properties ----------------------------------------------------------------------------

NAMES = ("Israel", "Hamas", "Fatah", "Egypt", "Qatar", "Jordan", "Iran", "Saudi Arabia")


@st.composite
def scales(draw: st.DrawFn, kind: ScaleKind) -> Scale:
    if kind == ScaleKind.NUMERIC:
        minimum = draw(st.integers(-100, 100))
        width = draw(st.sampled_from([1, 7, 150, 365, 10_000]))
        max_label = draw(st.sampled_from(["", "permanent"]))
        return Scale(kind, float(minimum), float(minimum + width), "days", max_label=max_label)
    size = draw(st.integers(2, 7))
    options = tuple(Option(f"o{i}", f"option {i}") for i in range(size))
    return Scale(kind, options=options)


def values(scale: Scale) -> st.SearchStrategy[float | str]:
    if scale.kind == ScaleKind.NUMERIC:
        low, high = scale.minimum, scale.maximum
        assert low is not None
        assert high is not None
        return st.one_of(
            st.integers(int(low), int(high)).map(float),
            st.floats(low, high, allow_nan=False, allow_infinity=False),
        )
    return st.sampled_from([option.key for option in scale.options])


@st.composite
def positions_for(draw: st.DrawFn, scale: Scale, party: str) -> PartyPosition:
    demand = draw(values(scale))
    priority = draw(st.integers(1, 5))
    version = draw(st.integers(0, 50))
    if scale.kind == ScaleKind.CATEGORICAL:
        keys = [option.key for option in scale.options]
        extra = draw(st.frozensets(st.sampled_from(keys)))
        return PartyPosition(party, demand, None, extra | {str(demand)}, priority, version)
    return PartyPosition(party, demand, draw(values(scale)), priority=priority, version=version)


@st.composite
def issues(
    draw: st.DrawFn, kinds: tuple[ScaleKind, ...] = tuple(ScaleKind), complete: bool = True
) -> IssueInput:
    scale = draw(scales(draw(st.sampled_from(kinds))))
    principals = tuple(draw(st.permutations(NAMES))[: draw(st.integers(2, 6))])
    with_position = (
        principals
        if complete
        else tuple(p for p in principals if draw(st.booleans()))
    )  # fmt: skip
    positions = tuple(draw(positions_for(scale, party)) for party in with_position)
    return IssueInput("issue", "Issue", draw(st.integers(1, 5)), scale, principals, positions)


def all_figures(result: IssueGap) -> list[float]:
    figures = [result.gap, result.zone_width, result.demand_spread]
    if result.blocking:
        figures.append(result.blocking.share)
    if result.bridging:
        figures.extend(c.share for c in result.bridging.concessions)
    for pair in result.pairwise:
        figures.extend([pair.gap, pair.zone_width])
    return figures


def ordered(scale: Scale, value: object) -> float:
    """A scale value as a comparable number (option index on an ordinal scale)."""
    if scale.kind == ScaleKind.ORDINAL:
        return [option.key for option in scale.options].index(str(value))
    return float(value)  # type: ignore[arg-type]


@BOUNDED
@given(issue=issues(complete=False), data=st.data())
def test_result_does_not_depend_on_the_order_of_positions(issue, data):
    shuffled = replace(issue, positions=tuple(data.draw(st.permutations(issue.positions))))

    assert compute_issue(shuffled) == compute_issue(issue)


@BOUNDED
@given(issue=issues())
def test_zone_lies_inside_every_acceptable_set(issue):
    result = compute_issue(issue)

    if result.zone is None:
        return
    for accepted in result.acceptable:
        if issue.scale.kind == ScaleKind.CATEGORICAL:
            assert set(result.zone.options) <= set(accepted.options)
        else:
            assert ordered(issue.scale, accepted.low) <= ordered(issue.scale, result.zone.low)
            assert ordered(issue.scale, result.zone.high) <= ordered(issue.scale, accepted.high)
            assert set(result.zone.options) <= set(accepted.options)


@BOUNDED
@given(issue=issues(kinds=(ScaleKind.ORDINAL, ScaleKind.CATEGORICAL)))
def test_zone_is_exactly_the_options_every_principal_accepts(issue):
    result = compute_issue(issue)

    shared = set.intersection(*(set(a.options) for a in result.acceptable))
    zone = set(result.zone.options) if result.zone else set()
    assert zone == shared


@BOUNDED
@given(issue=issues(complete=False))
def test_gap_is_zero_exactly_when_there_is_a_zone(issue):
    result = compute_issue(issue)

    if result.status == Status.INSUFFICIENT:
        assert result.gap == 0.0
        assert len(result.acceptable) < 2
        return
    assert (result.gap == 0.0) == (result.status == Status.ZONE)
    assert (result.zone is not None) == (result.status == Status.ZONE)
    assert (result.blocking is not None) == (result.status == Status.GAP)
    assert result.blocking is None or result.blocking.share == result.gap


@BOUNDED
@given(issue=issues(), data=st.data())
def test_a_red_line_moved_toward_the_others_never_widens_the_gap(issue, data):
    """A concession (the red line moved further from the party's own demand) never hurts."""
    scale = issue.scale
    index = data.draw(st.integers(0, len(issue.positions) - 1))
    position = issue.positions[index]
    if scale.kind == ScaleKind.CATEGORICAL:
        added = data.draw(st.sampled_from([option.key for option in scale.options]))
        conceded = replace(position, acceptable=position.acceptable | {added})
    elif scale.kind == ScaleKind.NUMERIC:
        assert isinstance(position.red_line, float)
        assert isinstance(position.demand, float)
        if position.red_line > position.demand:
            end = scale.maximum
        elif position.red_line < position.demand:
            end = scale.minimum
        else:
            end = data.draw(st.sampled_from([scale.minimum, scale.maximum]))
        assert end is not None
        step = data.draw(st.floats(0, 1))
        moved = position.red_line + step * (end - position.red_line)
        conceded = replace(position, red_line=min(max(moved, scale.minimum), scale.maximum))
    else:
        keys = [option.key for option in scale.options]
        demand, red_line = keys.index(str(position.demand)), keys.index(str(position.red_line))
        if red_line > demand:
            targets = keys[red_line:]
        elif red_line < demand:
            targets = keys[: red_line + 1]
        else:
            targets = keys
        conceded = replace(position, red_line=data.draw(st.sampled_from(targets)))
    positions = list(issue.positions)
    positions[index] = conceded

    before = compute_issue(issue)
    after = compute_issue(replace(issue, positions=tuple(positions)))

    assert after.gap <= before.gap
    assert after.distance <= before.distance


@BOUNDED
@given(issue=issues(complete=False))
def test_every_figure_stays_between_zero_and_one(issue):
    result = compute_issue(issue)

    assert all(0.0 <= figure <= 1.0 for figure in all_figures(result))
    assert result.status != Status.GAP or result.gap > 0.0


@BOUNDED
@given(issue=issues())
def test_bridging_point_asks_nothing_of_anyone_when_a_zone_exists(issue):
    result = compute_issue(issue)

    assert result.bridging is not None
    if result.status == Status.ZONE:
        assert result.zone is not None
        assert all(c.share == 0.0 and c.amount == 0.0 for c in result.bridging.concessions)
        if issue.scale.kind == ScaleKind.CATEGORICAL:
            assert result.bridging.point in result.zone.options
        else:
            point = ordered(issue.scale, result.bridging.point)
            low, high = (
                ordered(issue.scale, result.zone.low),
                ordered(issue.scale, result.zone.high),
            )
            assert low <= point <= high
    else:
        assert any(c.share > 0.0 for c in result.bridging.concessions)


@BOUNDED
@given(issue=issues(kinds=(ScaleKind.ORDINAL, ScaleKind.CATEGORICAL)))
def test_no_option_asks_less_weighted_concession_than_the_bridging_point(issue):
    result = compute_issue(issue)
    priority = {p.party: p.priority for p in issue.positions}

    def weighted_cost(point: str) -> float:
        total = 0.0
        for accepted in result.acceptable:
            if issue.scale.kind == ScaleKind.CATEGORICAL:
                distance = 0.0 if point in accepted.options else 1.0
            else:
                low, high = ordered(issue.scale, accepted.low), ordered(issue.scale, accepted.high)
                at = ordered(issue.scale, point)
                distance = max(low - at, at - high, 0.0)
            total += priority[accepted.party] * distance
        return total

    assert result.bridging is not None
    best = weighted_cost(str(result.bridging.point))
    assert all(best <= weighted_cost(option.key) for option in issue.scale.options)


@BOUNDED
@given(issue=issues(kinds=(ScaleKind.NUMERIC,)), probe=st.floats(0, 1))
def test_no_numeric_point_asks_less_weighted_concession_than_the_bridging_point(issue, probe):
    result = compute_issue(issue)
    scale = issue.scale
    assert scale.minimum is not None
    assert scale.maximum is not None
    priority = {p.party: p.priority for p in issue.positions}

    def weighted_cost(point: float) -> float:
        return sum(
            priority[a.party] * max(float(a.low) - point, point - float(a.high), 0.0)  # type: ignore[arg-type]
            for a in result.acceptable
        )

    assert result.bridging is not None
    other = scale.minimum + probe * (scale.maximum - scale.minimum)
    width = scale.maximum - scale.minimum
    assert weighted_cost(float(result.bridging.point)) <= weighted_cost(other) + 1e-9 * width


@BOUNDED
@given(issue=issues(complete=False))
def test_any_summary_survives_a_trip_through_json(issue):
    result = compute_issue(issue)

    assert IssueGap.from_dict(json.loads(json.dumps(result.to_dict()))) == result


@BOUNDED
@given(issue=issues())
def test_with_two_principals_the_pairwise_row_matches_the_issue(issue):
    positions = issue.positions[:2]
    result = compute_issue(replace(issue, positions=positions))

    (pair,) = result.pairwise
    assert (pair.status, pair.gap, pair.zone_width) == (
        result.status,
        result.gap,
        result.zone_width,
    )
