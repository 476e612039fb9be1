"""The phrases the gap report prints, worked by hand on the demo's scales."""

from issues import wording
from issues.gaps import PartyPosition, compute_issue
from tests.issues.test_gaps import (
    CEASEFIRE,
    GOVERNANCE,
    PRISONERS,
    WITHDRAWAL,
    ceasefire_as_declared,
    make_issue,
    withdrawal_as_declared,
)


def test_an_ordinal_gap_is_given_in_steps_with_who_holds_where():
    result = compute_issue(withdrawal_as_declared())

    assert wording.zone_or_gap(result, WITHDRAWAL) == "gap 0.50: two steps"
    assert wording.blocking(result, WITHDRAWAL) == (
        "Israel goes no further than a phased withdrawal tied to hostage releases, "
        "Hamas wants at least complete and unconditional withdrawal; "
        "opens if either concedes two steps"
    )
    assert wording.bridging(result, WITHDRAWAL) == (
        "a phased withdrawal tied to hostage releases (Hamas concedes two steps)"
    )


def test_a_numeric_gap_is_given_in_the_scales_unit_and_its_maximum_by_name():
    result = compute_issue(ceasefire_as_declared())

    assert wording.zone_or_gap(result, CEASEFIRE) == "gap 0.75: 275 days"
    assert wording.blocking(result, CEASEFIRE) == (
        "Israel goes no further than 90 days, Hamas wants at least permanent; "
        "opens if either concedes 275 days"
    )


def test_a_numeric_zone_says_its_unit_once_and_its_share_of_the_scale():
    zone = compute_issue(
        make_issue(PRISONERS, PartyPosition("Israel", 10, 60), PartyPosition("Hamas", 100, 50))
    )

    assert wording.zone_or_gap(zone, PRISONERS) == (
        "zone: 50 to 60 prisoners per hostage (7% of the scale)"
    )
    assert wording.blocking(zone, PRISONERS) == ""
    # Equal priorities: every point of the zone is as near the demands; the lowest is taken.
    assert wording.bridging(zone, PRISONERS) == "50 prisoners per hostage (no concession needed)"


def test_a_gap_that_only_one_side_can_close_names_it():
    three = compute_issue(
        make_issue(
            PRISONERS,
            PartyPosition("Israel", 10, 30),
            PartyPosition("Hamas", 100, 50),
            PartyPosition("Fatah", 20, 40),
            principals=("Israel", "Hamas", "Fatah"),
        )
    )

    # Israel alone could not: Fatah stops at 40, short of Hamas's 50.
    assert three.blocking.either_of == ("Hamas",)
    assert wording.blocking(three, PRISONERS).endswith(
        "opens if Hamas concedes 20 prisoners per hostage"
    )


def test_a_categorical_gap_names_the_option_and_who_would_have_to_accept_it():
    result = compute_issue(
        make_issue(
            GOVERNANCE,
            PartyPosition("Israel", "israeli_control", None, frozenset({"israeli_control"})),
            PartyPosition("Hamas", "hamas", None, frozenset({"hamas"})),
        )
    )

    assert wording.zone_or_gap(result, GOVERNANCE) == "gap 0.50: one principal"
    # Each option is acceptable to one principal, at equal priority: the first in scale order.
    assert wording.blocking(result, GOVERNANCE) == (
        "opens if Israel also accepts Hamas retaining control"
    )
    assert wording.bridging(result, GOVERNANCE) == "Hamas retaining control (Israel accepts it)"


def test_a_missing_principal_is_named():
    result = compute_issue(make_issue(PRISONERS, PartyPosition("Israel", 10, 30)))

    assert wording.zone_or_gap(result, PRISONERS) == "no position yet for Hamas"
    assert wording.bridging(result, PRISONERS) == ""


def test_the_trend_says_which_way_by_how_much_and_since_when():
    since = "2026-10-13T09:30:00+00:00"

    assert wording.trend({"direction": "narrowed", "delta": -0.1, "since": since}) == (
        "narrowed by 0.10 since 13 Oct 2026"
    )
    assert wording.trend({"direction": "widened", "delta": 0.25, "since": since}) == (
        "widened by 0.25 since 13 Oct 2026"
    )
    assert wording.trend({"direction": "new", "delta": 0.0, "since": since}) == (
        "first computed 13 Oct 2026"
    )
    assert wording.trend({}) == ""
