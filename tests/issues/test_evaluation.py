"""Proposal evaluation: a mediator's package against each principal, with linked conditions."""

import json
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from issues.evaluation import (
    OPTIONS_REQUIRED,
    PHASE_OUT_OF_RANGE,
    RANGE_REQUIRED,
    Blocker,
    BlockerKind,
    Condition,
    PackageEvaluation,
    Term,
    TermVerdict,
    evaluate_package,
    suggest_package,
    validate_condition,
    validate_term,
)
from issues.gaps import (
    OUTSIDE_SCALE,
    UNKNOWN_OPTION,
    IssueInput,
    Option,
    PartyPosition,
    Scale,
    ScaleKind,
    Status,
    compute_issue,
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


def talk_issues() -> tuple[IssueInput, ...]:
    """The four demo issues as declared, with the parties' priorities."""

    def issue(key: str, scale: Scale, *positions: PartyPosition) -> IssueInput:
        return IssueInput(key, key.title(), 3, scale, PRINCIPALS, positions)

    return (
        issue(
            "withdrawal",
            WITHDRAWAL,
            PartyPosition("Israel", "buffer", "phased", priority=5),
            PartyPosition("Hamas", "complete", "complete", priority=5),
        ),
        issue(
            "prisoners",
            PRISONERS,
            PartyPosition("Israel", 10, 30, priority=4),
            PartyPosition("Hamas", 100, 50, priority=3),
        ),
        issue(
            "governance",
            GOVERNANCE,
            PartyPosition(
                "Israel",
                "israeli_control",
                None,
                frozenset({"technocratic", "arab_force", "israeli_control"}),
            ),
            PartyPosition("Hamas", "hamas", None, frozenset({"hamas", "technocratic"})),
        ),
        issue(
            "ceasefire",
            CEASEFIRE,
            PartyPosition("Israel", 42, 90, priority=3),
            PartyPosition("Hamas", 365, 365, priority=5),
        ),
    )


def draft_package() -> tuple[Term, ...]:
    return (
        Term("withdrawal", 1, "phased"),
        Term("withdrawal", 2, "full"),
        Term("prisoners", 1, 40),
        Term("governance", 1, "technocratic"),
        Term("ceasefire", 1, 42),
        Term("ceasefire", 2, 365),
    )


def verdict(result: PackageEvaluation, issue_key: str, phase: int, party: str) -> TermVerdict:
    (found,) = (
        v for v in result.verdicts if (v.issue_key, v.phase, v.party) == (issue_key, phase, party)
    )
    return found


# --- Worked example: the draft package -----------------------------------------------------


def test_a_phased_withdrawal_is_inside_israels_set_and_two_steps_short_for_hamas():
    result = evaluate_package(talk_issues(), draft_package())

    israel = verdict(result, "withdrawal", 1, "Israel")
    hamas = verdict(result, "withdrawal", 1, "Hamas")
    assert (israel.accepted, israel.beyond, israel.concession, israel.concession_amount) == (
        True,
        0.0,
        0.25,
        1.0,
    )
    assert (hamas.accepted, hamas.beyond, hamas.beyond_amount) == (False, 0.5, 2.0)
    assert (hamas.concession, hamas.concession_amount) == (0.5, 2.0)


def test_a_ratio_between_the_red_lines_is_rejected_by_both_by_ten():
    result = evaluate_package(talk_issues(), draft_package())

    for party, concession in (("Israel", 30.0), ("Hamas", 60.0)):
        found = verdict(result, "prisoners", 1, party)
        assert not found.accepted
        assert found.beyond_amount == 10.0
        assert found.beyond == round(10 / 150, 6)
        assert found.concession_amount == concession
        assert isinstance(found.value, float)


def test_the_technocratic_committee_is_accepted_by_both_though_neither_demanded_it():
    result = evaluate_package(talk_issues(), draft_package())

    for party in PRINCIPALS:
        found = verdict(result, "governance", 1, party)
        assert (found.accepted, found.beyond, found.concession) == (True, 0.0, 1.0)


def test_each_ceasefire_phase_is_judged_on_its_own():
    result = evaluate_package(talk_issues(), draft_package())

    assert verdict(result, "ceasefire", 1, "Israel").accepted
    assert verdict(result, "ceasefire", 1, "Hamas").beyond_amount == 323.0
    assert verdict(result, "ceasefire", 2, "Israel").beyond_amount == 275.0
    assert verdict(result, "ceasefire", 2, "Hamas").accepted


def test_satisfaction_is_the_priority_weighted_share_kept_of_each_demand():
    result = evaluate_package(talk_issues(), draft_package())

    # Israel's priorities: withdrawal 5 (two phases), prisoners 4, governance 3,
    # ceasefire 3 (two phases); kept share of each demand = 1 - concession.
    israel = (5 * 0.75 + 5 * 0.5 + 4 * 0.8 + 3 * 0 + 3 * 1 + 3 * (42 / 365)) / 23
    hamas = (5 * 0.5 + 5 * 0.75 + 3 * 0.6 + 3 * 0 + 5 * (42 / 365) + 5 * 1) / 26
    assert result.satisfaction_of("Israel") == round(israel, 6)
    assert result.satisfaction_of("Hamas") == round(hamas, 6)
    assert [(s.party, s.terms) for s in result.satisfaction] == [("Hamas", 6), ("Israel", 6)]


def test_blocking_terms_are_listed_furthest_miss_first():
    result = evaluate_package(talk_issues(), draft_package())

    assert not result.acceptable
    assert [(b.issue_key, b.phase, b.party, b.miss) for b in result.blocking] == [
        ("ceasefire", 1, "Hamas", round(323 / 365, 6)),
        ("ceasefire", 2, "Israel", round(275 / 365, 6)),
        ("withdrawal", 1, "Hamas", 0.5),
        ("withdrawal", 2, "Hamas", 0.25),
        ("withdrawal", 2, "Israel", 0.25),
        ("prisoners", 1, "Hamas", round(10 / 150, 6)),
        ("prisoners", 1, "Israel", round(10 / 150, 6)),
    ]
    assert all(b.kind == BlockerKind.TERM for b in result.blocking)


def test_result_is_ordered_by_issue_phase_and_party_whatever_the_order_of_terms():
    result = evaluate_package(talk_issues(), tuple(reversed(draft_package())))

    assert [(v.issue_key, v.phase, v.party) for v in result.verdicts][:4] == [
        ("withdrawal", 1, "Hamas"),
        ("withdrawal", 1, "Israel"),
        ("withdrawal", 2, "Hamas"),
        ("withdrawal", 2, "Israel"),
    ]
    assert result == evaluate_package(talk_issues(), draft_package())


def test_a_package_inside_every_acceptable_set_is_acceptable():
    issues = talk_issues()
    withdrawal = replace(
        issues[0],
        positions=(
            PartyPosition("Israel", "buffer", "full"),
            PartyPosition("Hamas", "complete", "full"),
        ),
    )
    terms = (Term("withdrawal", 1, "full"), Term("governance", 1, "technocratic"))

    result = evaluate_package((withdrawal, *issues[1:]), terms)

    assert result.acceptable
    assert result.blocking == ()
    assert all(v.accepted for v in result.verdicts)


def test_a_term_a_hair_past_the_red_line_is_rejected_with_a_miss_above_zero():
    issue = IssueInput(
        "prisoners",
        "Prisoners",
        3,
        PRISONERS,
        PRINCIPALS,
        (PartyPosition("Israel", 0.0, 0.0), PartyPosition("Hamas", 1.0, 5e-324)),
    )

    result = evaluate_package((issue,), (Term("prisoners", 1, 0.0),))

    hamas = verdict(result, "prisoners", 1, "Hamas")
    assert not hamas.accepted
    assert hamas.beyond == 1e-6
    assert not result.acceptable


def test_a_principal_without_terms_has_no_satisfaction():
    result = evaluate_package(talk_issues(), ())

    assert result.acceptable
    assert result.satisfaction_of("Israel") is None


def test_mediators_are_not_evaluated():
    issues = talk_issues()
    prisoners = replace(issues[1], positions=(*issues[1].positions, PartyPosition("Egypt", 40, 40)))

    result = evaluate_package((prisoners,), (Term("prisoners", 1, 40),))

    assert {v.party for v in result.verdicts} == {"Israel", "Hamas"}


def test_evaluation_is_json_safe():
    conditions = (
        Condition("Hamas", "governance", "withdrawal", frozenset({"full", "complete"})),
        Condition("Israel", "withdrawal", "prisoners", (0.0, 30.0)),
    )
    result = evaluate_package(talk_issues(), draft_package(), conditions)

    stored = json.loads(json.dumps(result.to_dict()))

    assert stored["acceptable"] is False
    assert stored["conditions"][0]["condition"]["within"] in (
        ["complete", "full"],
        [0.0, 30.0],
    )
    assert stored["blocking"][0]["kind"] == "term"


# --- Conditions and phases -----------------------------------------------------------------


def governance_if_withdrawal_full() -> Condition:
    return Condition("Hamas", "governance", "withdrawal", frozenset({"full", "complete"}))


def test_a_condition_unmet_in_the_same_phase_breaks_the_package():
    terms = (Term("withdrawal", 1, "full"), Term("governance", 1, "technocratic"))
    issues = talk_issues()
    easy = replace(
        issues[0],
        positions=(
            PartyPosition("Israel", "buffer", "full"),
            PartyPosition("Hamas", "complete", "phased"),
        ),
    )
    linked = Condition("Hamas", "governance", "withdrawal", frozenset({"complete"}))

    result = evaluate_package((easy, *issues[1:]), terms, (linked,))

    (check,) = result.conditions
    assert (check.phase, check.against_phase, check.value) == (1, 1, "full")
    assert (check.met, check.miss, check.miss_amount) == (False, 0.25, 1.0)
    assert not result.acceptable
    assert result.blocking == (
        Blocker(BlockerKind.CONDITION, "Hamas", "governance", 1, 0.25, 1.0, "withdrawal"),
    )


def test_a_condition_is_checked_against_the_latest_earlier_phase():
    terms = (
        Term("withdrawal", 1, "phased"),
        Term("withdrawal", 2, "full"),
        Term("governance", 1, "technocratic"),
        Term("governance", 3, "technocratic"),
    )

    result = evaluate_package(talk_issues(), terms, (governance_if_withdrawal_full(),))

    first, third = result.conditions
    assert (first.phase, first.against_phase, first.value, first.met) == (1, 1, "phased", False)
    assert (third.phase, third.against_phase, third.value, third.met) == (3, 2, "full", True)


def test_a_condition_on_an_issue_with_no_term_in_force_is_broken_by_the_whole_scale():
    terms = (Term("withdrawal", 2, "full"), Term("governance", 1, "technocratic"))

    result = evaluate_package(talk_issues(), terms, (governance_if_withdrawal_full(),))

    (check,) = result.conditions
    assert (check.against_phase, check.value, check.met, check.miss) == (None, None, False, 1.0)
    assert check.miss_amount == 4.0


def test_a_condition_without_a_term_on_its_own_issue_is_not_checked():
    result = evaluate_package(
        talk_issues(), (Term("withdrawal", 1, "none"),), (governance_if_withdrawal_full(),)
    )

    assert result.conditions == ()


def test_a_numeric_condition_misses_by_the_distance_outside_its_range():
    israel_if_few_prisoners = Condition("Israel", "withdrawal", "prisoners", (30.0, 0.0))
    terms = (Term("withdrawal", 1, "phased"), Term("prisoners", 1, 45))

    (check,) = evaluate_package(talk_issues(), terms, (israel_if_few_prisoners,)).conditions

    assert (check.met, check.miss_amount, check.miss) == (False, 15.0, 0.1)


def test_a_categorical_condition_is_met_by_any_option_in_its_set():
    ceasefire_if_not_hamas = Condition(
        "Israel", "ceasefire", "governance", frozenset({"technocratic", "pa"})
    )
    terms = (Term("ceasefire", 1, 60), Term("governance", 1, "technocratic"))

    (check,) = evaluate_package(talk_issues(), terms, (ceasefire_if_not_hamas,)).conditions

    assert (check.met, check.miss) == (True, 0.0)


# --- Validation and suggestion -------------------------------------------------------------


def test_term_validation_names_each_bad_field():
    assert validate_term(PRISONERS, 0, 200) == {"phase": PHASE_OUT_OF_RANGE, "value": OUTSIDE_SCALE}
    assert validate_term(WITHDRAWAL, 2, "all") == {"value": UNKNOWN_OPTION}
    assert validate_term(GOVERNANCE, 1, "pa") == {}


def test_condition_validation_wants_a_range_or_a_set_to_match_the_scale():
    assert validate_condition(PRISONERS, frozenset({"a"})) == {"within": RANGE_REQUIRED}
    assert validate_condition(PRISONERS, (0.0, 200.0)) == {"within": RANGE_REQUIRED}
    assert validate_condition(PRISONERS, (0.0, 30.0)) == {}
    assert validate_condition(WITHDRAWAL, (1.0, 2.0)) == {"within": OPTIONS_REQUIRED}
    assert validate_condition(WITHDRAWAL, frozenset()) == {"within": OPTIONS_REQUIRED}
    assert validate_condition(WITHDRAWAL, frozenset({"full"})) == {}


@pytest.mark.parametrize(
    ("terms", "conditions", "message"),
    [
        ((Term("housing", 1, "x"),), (), "not part of the talk"),
        ((Term("prisoners", 1, 40), Term("prisoners", 1, 45)), (), "already sets"),
        ((Term("prisoners", 1, 400),), (), "outside"),
        ((), (Condition("Hamas", "governance", "housing", frozenset({"x"})),), "not part"),
        ((), (Condition("Hamas", "governance", "prisoners", frozenset({"x"})),), "range"),
    ],
)
def test_malformed_packages_are_refused(terms, conditions, message):
    with pytest.raises(ValueError, match=message):
        evaluate_package(talk_issues(), terms, conditions)


def test_suggested_package_takes_each_issues_bridging_point():
    issues = talk_issues()

    terms = suggest_package(issues)

    assert terms == tuple(
        Term(issue.key, 1, compute_issue(issue).bridging.point)  # type: ignore[union-attr]
        for issue in issues
    )
    assert terms[2] == Term("governance", 1, "technocratic")


def test_suggestion_leaves_out_issues_without_two_positions():
    issues = talk_issues()
    lonely = replace(issues[1], positions=issues[1].positions[:1])

    assert [t.issue_key for t in suggest_package((issues[0], lonely))] == ["withdrawal"]


# --- Properties ----------------------------------------------------------------------------

NAMES = ("Israel", "Hamas", "Fatah", "Egypt", "Qatar")


@st.composite
def scales(draw: st.DrawFn) -> Scale:
    kind = draw(st.sampled_from(ScaleKind))
    if kind == ScaleKind.NUMERIC:
        minimum = draw(st.integers(-50, 50))
        width = draw(st.sampled_from([1, 150, 365]))
        return Scale(kind, float(minimum), float(minimum + width), "units")
    size = draw(st.integers(2, 6))
    return Scale(kind, options=tuple(Option(f"o{i}", f"option {i}") for i in range(size)))


def keys_of(scale: Scale) -> list[str]:
    return [option.key for option in scale.options]


def numbers(low: float, high: float) -> st.SearchStrategy[float]:
    return st.one_of(
        st.floats(low, high, allow_nan=False, allow_infinity=False),
        st.sampled_from([low, high]),
    )


@st.composite
def positions_around(
    draw: st.DrawFn, scale: Scale, party: str, anchor: float | str | None
) -> PartyPosition:
    """A position whose acceptable set holds ``anchor``; any position when anchor is None."""
    priority = draw(st.integers(1, 5))
    if scale.kind == ScaleKind.CATEGORICAL:
        wanted = draw(st.sampled_from(keys_of(scale)))
        extra = draw(st.frozensets(st.sampled_from(keys_of(scale))))
        acceptable = extra | {wanted} | ({anchor} if isinstance(anchor, str) else set())
        return PartyPosition(party, wanted, None, acceptable, priority)
    if scale.kind == ScaleKind.ORDINAL:
        keys = keys_of(scale)
        top = len(keys) - 1
        step = draw(st.integers(0, top))
        if anchor is None:
            limit = draw(st.integers(0, top))
        else:
            at = keys.index(str(anchor))
            limit = draw(st.integers(at, top) if step <= at else st.integers(0, at))
        return PartyPosition(party, keys[step], keys[limit], priority=priority)
    low, high = float(scale.minimum or 0), float(scale.maximum or 0)
    demand = draw(numbers(low, high))
    if anchor is None:
        red_line = draw(numbers(low, high))
    else:
        middle = float(anchor)
        red_line = draw(numbers(middle, high) if demand <= middle else numbers(low, middle))
    return PartyPosition(party, demand, red_line, priority=priority)


def scale_values(scale: Scale) -> st.SearchStrategy[float | str]:
    if scale.kind == ScaleKind.NUMERIC:
        return numbers(float(scale.minimum or 0), float(scale.maximum or 0))
    return st.sampled_from(keys_of(scale))


@st.composite
def talks(draw: st.DrawFn, zoned: bool) -> tuple[IssueInput, ...]:
    """One to four issues among the same principals; with ``zoned``, each has a zone."""
    principals = tuple(draw(st.permutations(NAMES))[: draw(st.integers(2, 4))])
    issues = []
    for number in range(draw(st.integers(1, 4))):
        scale = draw(scales())
        anchor = draw(scale_values(scale)) if zoned else None
        positions = tuple(draw(positions_around(scale, party, anchor)) for party in principals)
        issues.append(IssueInput(f"issue-{number}", "Issue", 3, scale, principals, positions))
    return tuple(issues)


@st.composite
def packages(draw: st.DrawFn, issues: tuple[IssueInput, ...]) -> tuple[Term, ...]:
    terms: list[Term] = []
    for issue in issues:
        phases = draw(st.sets(st.integers(1, 3), min_size=1, max_size=3))
        terms.extend(Term(issue.key, phase, draw(scale_values(issue.scale))) for phase in phases)
    return tuple(terms)


@st.composite
def zone_points(draw: st.DrawFn, issue: IssueInput) -> float | str:
    zone = compute_issue(issue).zone
    assert zone is not None
    if issue.scale.kind == ScaleKind.NUMERIC:
        low, high = float(zone.low), float(zone.high)  # type: ignore[arg-type]
        return min(max(low + draw(st.floats(0, 1)) * (high - low), low), high)
    return draw(st.sampled_from(zone.options))


@BOUNDED
@given(data=st.data())
def test_a_package_of_points_inside_every_zone_is_acceptable_to_all(data):
    issues = data.draw(talks(zoned=True))
    assert all(compute_issue(issue).status == Status.ZONE for issue in issues)
    terms = tuple(
        Term(issue.key, phase, data.draw(zone_points(issue)))
        for issue in issues
        for phase in data.draw(st.sets(st.integers(1, 3), min_size=1, max_size=3))
    )

    result = evaluate_package(issues, terms)

    assert result.acceptable
    assert all(v.accepted and v.beyond == 0.0 for v in result.verdicts)


@BOUNDED
@given(data=st.data())
def test_the_suggested_package_is_acceptable_to_all_when_every_issue_has_a_zone(data):
    issues = data.draw(talks(zoned=True))

    assert evaluate_package(issues, suggest_package(issues)).acceptable


@BOUNDED
@given(data=st.data())
def test_moving_a_term_toward_a_partys_demand_never_lowers_its_satisfaction(data):
    issues = data.draw(talks(zoned=False))
    terms = list(data.draw(packages(issues)))
    index = data.draw(st.integers(0, len(terms) - 1))
    term = terms[index]
    issue = next(i for i in issues if i.key == term.issue_key)
    position = data.draw(st.sampled_from(issue.positions))
    scale = issue.scale
    moved: float | str
    if scale.kind == ScaleKind.CATEGORICAL:
        moved = position.demand
    elif scale.kind == ScaleKind.ORDINAL:
        keys = keys_of(scale)
        now, goal = keys.index(str(term.value)), keys.index(str(position.demand))
        moved = keys[data.draw(st.integers(min(now, goal), max(now, goal)))]
    else:
        start, end = float(term.value), float(position.demand)
        step = start + data.draw(st.floats(0, 1)) * (end - start)
        moved = min(max(step, min(start, end)), max(start, end))
    terms[index] = replace(term, value=moved)

    before = evaluate_package(issues, [*terms[:index], term, *terms[index + 1 :]])
    after = evaluate_package(issues, terms)

    assert after.satisfaction_of(position.party) >= before.satisfaction_of(position.party)  # type: ignore[operator]


@BOUNDED
@given(data=st.data())
def test_evaluation_does_not_depend_on_the_order_of_terms_positions_or_conditions(data):
    issues = data.draw(talks(zoned=False))
    terms = data.draw(packages(issues))
    first, last = issues[0], issues[-1]
    if last.scale.kind == ScaleKind.NUMERIC:
        within: tuple[float, float] | frozenset[str] = (
            float(last.scale.minimum or 0),
            float(last.scale.minimum or 0) + 0.5,
        )
    else:
        within = frozenset(keys_of(last.scale)[:1])
    conditions = [
        Condition(first.principals[0], first.key, last.key, within),
        Condition(first.principals[1], last.key, first.key, _anything(first.scale)),
    ]
    shuffled_issues = tuple(
        replace(issue, positions=tuple(data.draw(st.permutations(issue.positions))))
        for issue in issues
    )

    reordered = evaluate_package(
        shuffled_issues,
        data.draw(st.permutations(terms)),
        data.draw(st.permutations(conditions)),
    )

    assert reordered == evaluate_package(issues, terms, conditions)


def _anything(scale: Scale) -> tuple[float, float] | frozenset[str]:
    if scale.kind == ScaleKind.NUMERIC:
        return (float(scale.minimum or 0), float(scale.maximum or 0))
    return frozenset(keys_of(scale))


@BOUNDED
@given(data=st.data())
def test_figures_stay_in_range_and_rejection_means_a_positive_miss(data):
    issues = data.draw(talks(zoned=False))
    terms = data.draw(packages(issues))

    result = evaluate_package(issues, terms)

    for v in result.verdicts:
        assert 0.0 <= v.beyond <= 1.0
        assert 0.0 <= v.concession <= 1.0
        assert v.accepted == (v.beyond == 0.0)
    for s in result.satisfaction:
        assert s.satisfaction is None or 0.0 <= s.satisfaction <= 1.0
    assert result.acceptable == all(v.accepted for v in result.verdicts)
    misses = [b.miss for b in result.blocking]
    assert misses == sorted(misses, reverse=True)


@BOUNDED
@given(data=st.data())
def test_a_condition_covering_the_whole_scale_is_met_whenever_its_issue_has_a_term(data):
    issues = data.draw(talks(zoned=False))
    terms = data.draw(packages(issues))
    first, last = issues[0], issues[-1]
    condition = Condition(first.principals[0], first.key, last.key, _anything(last.scale))

    result = evaluate_package(issues, terms, (condition,))

    for check in result.conditions:
        assert check.met == (check.against_phase is not None)
