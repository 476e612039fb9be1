"""Proposals: drafting, revisions, conflicts, linked conditions, and evaluations on the demo."""

import pytest
from django.core.exceptions import ValidationError

from issues.evaluation import BlockerKind, ChangeKind, Term
from positions.models import Interface, Position, Proposal, ProposalRevision
from positions.selectors import (
    package_evaluate,
    proposal_compare,
    proposal_list_for_member,
    talk_conditions,
    terms_of,
)
from positions.services import (
    LINK_DUPLICATE,
    LINK_SELF,
    LINK_UNKNOWN_ISSUE,
    PHASE_LAST,
    PHASE_NOT_FOUND,
    PHASES_NUMBERING,
    PROPOSAL_MEDIATOR,
    PROPOSAL_STATUS,
    SUPERSEDED_BY_INVALID,
    SUPERSEDED_BY_REQUIRED,
    SUPERSEDED_BY_UNEXPECTED,
    VERSION_NOT_FOUND,
    LinkInput,
    PhaseInput,
    PositionInput,
    ProposalConflict,
    ProposalInput,
    TermInput,
    position_create,
    position_input_from,
    position_update,
    proposal_copy,
    proposal_create,
    proposal_phase_remove,
    proposal_phase_set,
    proposal_snapshot,
    proposal_suggest,
    proposal_term_remove,
    proposal_term_set,
    proposal_update,
)
from talks.models import Membership, Party

pytestmark = pytest.mark.django_db


def draft(st, **over):
    data = ProposalInput(
        title="Truce first",
        mediator_id=st.broker.pk,
        phases=(PhaseInput(1, "Truce", "Signature"), PhaseInput(2, "Settlement", "Releases")),
        terms=(
            TermInput("truce", 1, 40),
            TermInput("pullback", 1, "some"),
            TermInput("pullback", 2, "all"),
        ),
    )
    return data.with_changes(**over)


def create(st, data=None):
    return proposal_create(
        talk=st.talk, data=data or draft(st), by=st.mediator, via=Interface.WEB, note="First cut"
    )


# --- Drafting and revisions ---------------------------------------------------------------


def test_a_proposal_is_saved_with_its_phases_terms_and_first_revision(small_talk):
    proposal = create(small_talk)
    assert proposal.version == 1
    snap = proposal_snapshot(proposal)
    assert snap["mediator"] == "Broker"
    assert [ph["number"] for ph in snap["phases"]] == [1, 2]
    # In issue order (the fixture's issues share order 0, so by key), then phase.
    assert snap["terms"] == [
        {"issue": "pullback", "phase": 1, "value": "some"},
        {"issue": "pullback", "phase": 2, "value": "all"},
        {"issue": "truce", "phase": 1, "value": 40.0},
    ]
    revision = ProposalRevision.objects.get(proposal=proposal)
    assert (revision.version, revision.by, revision.via, revision.note) == (
        1,
        small_talk.mediator,
        "web",
        "First cut",
    )
    assert revision.snapshot == snap


@pytest.mark.parametrize(
    ("over", "field", "message"),
    [
        ({"terms": (TermInput("nowhere", 1, 1),)}, "terms", "is not an issue of this talk"),
        ({"terms": (TermInput("truce", 1, 400),)}, "terms", "outside the issue's scale"),
        ({"terms": (TermInput("pullback", 1, "a"),)}, "terms", "does not belong to the issue"),
        ({"terms": (TermInput("truce", 3, 10),)}, "terms", "phase 3 is not one of"),
        (
            {"terms": (TermInput("truce", 1, 10), TermInput("truce", 1, 20))},
            "terms",
            "already sets this issue in phase 1",
        ),
        ({"phases": (PhaseInput(1), PhaseInput(3))}, "phases", PHASES_NUMBERING),
        ({"title": "  "}, "title", "Give the proposal a title."),
    ],
)
def test_a_bad_proposal_is_refused_per_field_and_nothing_is_saved(small_talk, over, field, message):
    with pytest.raises(ValidationError) as exc:
        create(small_talk, draft(small_talk, **over))
    assert message in exc.value.message_dict[field][0]
    assert not Proposal.objects.exists()


def test_only_a_mediating_party_authors_a_proposal(small_talk):
    with pytest.raises(ValidationError) as exc:
        create(small_talk, draft(small_talk, mediator_id=small_talk.north.pk))
    assert exc.value.message_dict["mediator"] == [PROPOSAL_MEDIATOR]


def test_every_change_is_a_new_version_with_its_revision_and_a_stale_one_is_refused(small_talk):
    st = small_talk
    proposal = create(st)
    proposal_term_set(
        proposal=proposal,
        based_on_version=1,
        term=TermInput("truce", 1, 60),
        by=st.analyst,
        via=Interface.API,
    )
    with pytest.raises(ProposalConflict) as exc:
        proposal_term_set(
            proposal=proposal,
            based_on_version=1,
            term=TermInput("truce", 1, 10),
            by=st.mediator,
            via=Interface.WEB,
        )
    assert exc.value.current_version == 2
    latest = ProposalRevision.objects.get(proposal=proposal, version=2)
    assert latest.by == st.analyst
    assert {"issue": "truce", "phase": 1, "value": 60.0} in latest.changes["terms"][1]
    assert {"issue": "truce", "phase": 1, "value": 40.0} in latest.changes["terms"][0]
    assert Proposal.objects.get(pk=proposal.pk).version == 2


def test_saving_the_same_content_keeps_the_version(small_talk):
    st = small_talk
    proposal = create(st)
    same = proposal_update(
        proposal=proposal,
        based_on_version=1,
        data=draft(st, terms=tuple(reversed(draft(st).terms))),
        by=st.mediator,
        via=Interface.WEB,
    )
    assert same.version == 1
    assert ProposalRevision.objects.filter(proposal=proposal).count() == 1


def test_removing_a_term_and_closing_the_proposal(small_talk):
    st = small_talk
    proposal = create(st)
    proposal = proposal_term_remove(
        proposal=proposal, based_on_version=1, issue="pullback", phase=2, by=None, via="web"
    )
    assert [t["issue"] for t in proposal_snapshot(proposal)["terms"]] == ["pullback", "truce"]
    shared = proposal_update(
        proposal=proposal,
        based_on_version=2,
        data=draft(st, status="shared", terms=()),
        by=None,
        via="web",
    )
    with pytest.raises(ValidationError) as exc:
        proposal_update(
            proposal=shared, based_on_version=3, data=draft(st, status="draft"), by=None, via="web"
        )
    assert exc.value.message_dict["status"] == [PROPOSAL_STATUS.format(old="shared", new="draft")]
    proposal_update(
        proposal=shared, based_on_version=3, data=draft(st, status="withdrawn"), by=None, via="web"
    )
    with pytest.raises(ValidationError) as exc:
        proposal_update(
            proposal=shared,
            based_on_version=4,
            data=draft(st, status="withdrawn", title="X"),
            by=None,
            via="web",
        )
    assert "can no longer be changed" in exc.value.message_dict["status"][0]


def test_two_versions_compare_term_by_term(small_talk):
    st = small_talk
    proposal = create(st)
    v1 = ProposalRevision.objects.get(proposal=proposal, version=1).snapshot
    proposal = proposal_update(
        proposal=proposal,
        based_on_version=1,
        data=draft(
            st,
            title="Truce first, revised",
            terms=(
                TermInput("truce", 1, 60),
                TermInput("pullback", 2, "all"),
                TermInput("rule", 2, "b"),
            ),
        ),
        by=None,
        via="web",
    )
    v2 = ProposalRevision.objects.get(proposal=proposal, version=2).snapshot
    diff = proposal_compare(before=v1, after=v2, issue_order=["truce", "pullback", "rule"])
    assert diff["fields"] == {"title": ["Truce first", "Truce first, revised"]}
    assert [(c.issue_key, c.phase, c.before, c.after, c.kind) for c in diff["terms"]] == [
        ("truce", 1, 40.0, 60.0, ChangeKind.CHANGED),
        ("pullback", 1, "some", None, ChangeKind.REMOVED),
        ("pullback", 2, "all", "all", ChangeKind.SAME),
        ("rule", 2, None, "b", ChangeKind.ADDED),
    ]


def test_viewers_read_shared_proposals_only(small_talk):
    st = small_talk
    create(st)
    create(st, draft(st, title="Shared one", status="shared"))
    viewer = Membership.objects.get(talk=st.talk, user=st.viewer)
    mediator = Membership.objects.get(talk=st.talk, user=st.mediator)
    assert [p.title for p in proposal_list_for_member(talk=st.talk, membership=viewer)] == [
        "Shared one"
    ]
    assert proposal_list_for_member(talk=st.talk, membership=mediator).count() == 2


# --- Structured conditions on positions ---------------------------------------------------


def position(st, issue, party, data, layer="declared"):
    return position_create(
        issue=issue, party=party, layer=layer, data=data, by=st.analyst, via="web", note="n"
    )


@pytest.mark.parametrize(
    ("links", "message"),
    [
        (
            (LinkInput("nowhere", frozenset({"a"})),),
            LINK_UNKNOWN_ISSUE.format(n=1, issue="nowhere"),
        ),
        ((LinkInput("truce", (0.0, 10.0)),), LINK_SELF.format(n=1)),
        (
            (LinkInput("rule", frozenset({"a"})), LinkInput("rule", frozenset({"b"}))),
            LINK_DUPLICATE.format(n=2, issue="rule"),
        ),
        ((LinkInput("rule", frozenset({"zz"})),), "non-empty set of the issue's options"),
        ((LinkInput("rule", frozenset()),), "non-empty set of the issue's options"),
        ((LinkInput("pullback", (0.0, 1.0)),), "non-empty set of the issue's options"),
    ],
)
def test_a_bad_linked_condition_is_refused_and_nothing_is_saved(small_talk, links, message):
    st = small_talk
    with pytest.raises(ValidationError) as exc:
        position(st, st.numeric, st.north, PositionInput(demand=10, red_line=40, links=links))
    assert message in exc.value.message_dict["links"][0]
    assert not Position.objects.exists()


def test_a_numeric_link_needs_a_range_inside_the_scale(small_talk):
    st = small_talk
    with pytest.raises(ValidationError) as exc:
        position(
            st,
            st.ordinal,
            st.north,
            PositionInput(
                demand="none", red_line="some", links=(LinkInput("truce", (0.0, 500.0)),)
            ),
        )
    assert "two numbers" in exc.value.message_dict["links"][0]


def test_links_are_kept_in_revisions_and_become_engine_conditions(small_talk):
    st = small_talk
    p = position(
        st,
        st.ordinal,
        st.north,
        PositionInput(demand="none", red_line="some", links=(LinkInput("truce", (60.0, 0.0)),)),
    )
    assert p.links == [{"issue": "truce", "low": 0.0, "high": 60.0}]
    updated = position_update(
        position=p,
        based_on_version=1,
        data=position_input_from(p).with_changes(links=(LinkInput("rule", frozenset({"b", "a"})),)),
        by=st.analyst,
        via="web",
        note="linked to the rule instead",
    )
    revision = updated.revisions.get(version=2)
    assert revision.changes["links"] == [
        [{"issue": "truce", "low": 0.0, "high": 60.0}],
        [{"issue": "rule", "options": ["a", "b"]}],
    ]
    (condition,) = talk_conditions(talk_id=st.talk.pk, layer="declared")
    assert (condition.party, condition.issue_key, condition.on_issue_key, condition.within) == (
        "North",
        "pullback",
        "rule",
        frozenset({"a", "b"}),
    )


# --- Evaluations on the demo talk, worked by hand ------------------------------------------


def evaluate(demo, layer, *terms):
    return package_evaluate(talk=demo, terms=[Term(k, 1, v) for k, v in terms], layer=layer)


def test_fifty_five_prisoners_per_hostage_is_acceptable_on_the_declared_layer_only(demo):
    # Declared: Israel up to 60, Hamas down to 50: 55 sits in the zone.
    declared = evaluate(demo, "declared", ("prisoners", 55))
    assert declared.acceptable
    assert declared.blocking == ()
    # Assessed: Israel's real ceiling is 35; 55 lies 20 beyond it (20 of a 150-wide scale).
    assessed = evaluate(demo, "assessed", ("prisoners", 55))
    assert not assessed.acceptable
    (blocker,) = assessed.blocking
    assert (blocker.kind, blocker.party, blocker.issue_key) == (
        BlockerKind.TERM,
        "Israel",
        "prisoners",
    )
    assert blocker.miss_amount == 20.0
    assert blocker.miss == round(20 / 150, 6)
    israel = next(v for v in assessed.verdicts if v.party == "Israel")
    assert israel.concession_amount == 45.0  # from its demand of 10


def test_full_withdrawal_with_a_technocratic_committee_is_broken_by_israels_linkage(demo):
    # Assessed: both accept a full withdrawal with security arrangements and both accept a
    # technocratic committee, but Israel ties any withdrawal to an outside security presence.
    result = evaluate(
        demo, "assessed", ("withdrawal", "full-security"), ("governance", "technocratic")
    )
    assert all(v.accepted for v in result.verdicts)
    assert not result.acceptable
    (blocker,) = result.blocking
    assert (blocker.kind, blocker.party, blocker.issue_key, blocker.on_issue_key) == (
        BlockerKind.CONDITION,
        "Israel",
        "withdrawal",
        "governance",
    )
    assert blocker.miss == 1.0  # categorical: the committee is simply outside the set
    # With an Arab force instead, the linkage holds, but Hamas rejects the force.
    with_force = evaluate(
        demo, "assessed", ("withdrawal", "full-security"), ("governance", "arab-force")
    )
    assert all(c.met for c in with_force.conditions)
    assert [(b.kind, b.party, b.issue_key) for b in with_force.blocking] == [
        (BlockerKind.TERM, "Hamas", "governance")
    ]


def test_israeli_security_control_blocks_an_otherwise_agreed_package_on_one_term(demo):
    result = evaluate(demo, "declared", ("prisoners", 55), ("governance", "israeli-security"))
    assert not result.acceptable
    (blocker,) = result.blocking
    assert (blocker.kind, blocker.party, blocker.issue_key, blocker.miss) == (
        BlockerKind.TERM,
        "Hamas",
        "governance",
        1.0,
    )
    # Satisfaction: Israel keeps its governance demand (priority 4) and concedes 45 of 150
    # on prisoners (priority 3): (4 * 1 + 3 * (1 - 45/150)) / 7.
    assert result.satisfaction_of("Israel") == round((4 + 3 * (1 - 45 / 150)) / 7, 6)


def test_the_demo_framework_breaks_hamass_ceasefire_linkage_in_both_phases(demo):
    proposal = Proposal.objects.get(talk=demo, title="Phased framework")
    result = package_evaluate(
        talk=demo, terms=terms_of(proposal_snapshot(proposal)), layer="declared"
    )
    broken = [
        (b.party, b.issue_key, b.phase, b.on_issue_key)
        for b in result.blocking
        if b.kind == BlockerKind.CONDITION
    ]
    # Phase 1 has no permanent ceasefire from Hamas's view either way: its ceasefire terms are
    # checked against the withdrawal and aid terms in force in each phase.
    assert ("Hamas", "ceasefire", 1, "withdrawal") in broken
    assert ("Hamas", "ceasefire", 2, "withdrawal") in broken
    assert ("Hamas", "ceasefire", 2, "aid") in broken


def test_a_suggested_package_takes_each_bridging_point_and_is_evaluated(demo):
    egypt = Party.objects.get(name="Egypt")
    proposal = proposal_suggest(
        talk=demo, layer="assessed", mediator_id=egypt.pk, by=None, via=Interface.WEB
    )
    snap = proposal_snapshot(proposal)
    assert proposal.status == "draft"
    by_issue = {t["issue"]: t["value"] for t in snap["terms"]}
    assert set(by_issue) == {"withdrawal", "prisoners", "governance", "aid", "ceasefire"}
    # Assessed zones: the bridging point lies inside each one.
    assert by_issue["withdrawal"] == "full-security"
    assert by_issue["governance"] == "technocratic"
    assert by_issue["aid"] == "joint"
    result = package_evaluate(talk=demo, terms=terms_of(snap), layer="assessed")
    accepted = {(v.issue_key, v.party): v.accepted for v in result.verdicts}
    assert accepted[("withdrawal", "Israel")]
    assert accepted[("withdrawal", "Hamas")]


# --- Lineage: superseding and copying -------------------------------------------------------


def test_a_superseded_proposal_names_its_open_successor(small_talk):
    st = small_talk
    old = create(st, draft(st, status="shared"))
    new = create(st, draft(st, title="Second try"))
    for over, message in [
        ({"status": "superseded"}, SUPERSEDED_BY_REQUIRED),
        ({"status": "superseded", "superseded_by_id": old.pk}, SUPERSEDED_BY_INVALID),
        ({"status": "shared", "superseded_by_id": new.pk}, SUPERSEDED_BY_UNEXPECTED),
    ]:
        with pytest.raises(ValidationError) as exc:
            proposal_update(
                proposal=old, based_on_version=1, data=draft(st, **over), by=None, via="web"
            )
        assert exc.value.message_dict["superseded_by"] == [message]
    closed = proposal_update(
        proposal=old,
        based_on_version=1,
        data=draft(st, status="superseded", superseded_by_id=new.pk),
        by=st.mediator,
        via="web",
        note="Replaced by the second try.",
    )
    assert (closed.status, closed.superseded_by, closed.version) == ("superseded", new, 2)
    revision = ProposalRevision.objects.get(proposal=old, version=2)
    assert revision.changes["superseded_by"] == [None, new.pk]
    assert revision.changes["status"] == ["shared", "superseded"]
    # A closed proposal cannot be named as a successor: no cycle can form.
    with pytest.raises(ValidationError) as exc:
        proposal_update(
            proposal=new,
            based_on_version=1,
            data=draft(st, title="Second try", status="superseded", superseded_by_id=old.pk),
            by=None,
            via="web",
        )
    assert exc.value.message_dict["superseded_by"] == [SUPERSEDED_BY_INVALID]


def test_a_copy_is_a_new_draft_of_the_current_or_an_earlier_version(small_talk):
    st = small_talk
    shared = create(st, draft(st, status="shared"))
    shared = proposal_term_set(
        proposal=shared,
        based_on_version=1,
        term=TermInput("truce", 1, 55),
        by=st.mediator,
        via=Interface.WEB,
    )
    copy = proposal_copy(proposal=shared, by=st.analyst, via=Interface.API)
    assert (copy.status, copy.version, copy.copied_from, copy.title) == (
        "draft",
        1,
        shared,
        "Truce first (revised)",
    )
    snap, source = proposal_snapshot(copy), proposal_snapshot(shared)
    assert snap["terms"] == source["terms"]
    assert snap["phases"] == source["phases"]
    first = copy.revisions.get()
    assert (first.note, first.by, first.via) == (
        "Copied from “Truce first” (version 2).",
        st.analyst,
        "api",
    )
    older = proposal_copy(proposal=shared, by=None, via="web", version=1, title="From v1")
    truce = next(t for t in proposal_snapshot(older)["terms"] if t["issue"] == "truce")
    assert (older.title, truce["value"]) == ("From v1", 40.0)
    with pytest.raises(ValidationError) as exc:
        proposal_copy(proposal=shared, by=None, via="web", version=9)
    assert exc.value.message_dict["version"] == [VERSION_NOT_FOUND.format(version=9)]


# --- Phases ---------------------------------------------------------------------------------


def test_phases_are_added_retitled_and_removed_with_their_terms(small_talk):
    st = small_talk
    proposal = create(st)  # phases 1 and 2; pullback in both
    proposal = proposal_phase_set(
        proposal=proposal,
        based_on_version=1,
        phase=PhaseInput(3, "Reconstruction", "Six months of calm"),
        by=st.mediator,
        via="web",
    )
    proposal = proposal_term_set(
        proposal=proposal,
        based_on_version=2,
        term=TermInput("rule", 3, "c"),
        by=st.mediator,
        via="web",
    )
    with pytest.raises(ValidationError) as exc:
        proposal_phase_set(
            proposal=proposal, based_on_version=3, phase=PhaseInput(5), by=None, via="web"
        )
    assert exc.value.message_dict["phases"] == [PHASE_NOT_FOUND.format(number=5)]
    proposal = proposal_phase_remove(
        proposal=proposal, based_on_version=3, number=2, by=st.mediator, via="web"
    )
    snap = proposal_snapshot(proposal)
    assert snap["phases"] == [
        {"number": 1, "title": "Truce", "trigger": "Signature"},
        {"number": 2, "title": "Reconstruction", "trigger": "Six months of calm"},
    ]
    assert snap["terms"] == [
        {"issue": "pullback", "phase": 1, "value": "some"},
        {"issue": "rule", "phase": 2, "value": "c"},
        {"issue": "truce", "phase": 1, "value": 40.0},
    ]
    assert proposal.revisions.get(version=4).note == "Phase 2 removed, with its terms."
    proposal = proposal_phase_remove(
        proposal=proposal, based_on_version=4, number=2, by=None, via="web"
    )
    with pytest.raises(ValidationError) as exc:
        proposal_phase_remove(proposal=proposal, based_on_version=5, number=1, by=None, via="web")
    assert exc.value.message_dict["phases"] == [PHASE_LAST]
    assert Proposal.objects.get(pk=proposal.pk).version == 5


def test_a_term_is_set_on_the_version_under_the_lock_not_on_a_stale_copy(small_talk):
    """The proposal object handed to the service may be older than the version named;
    the change applies to what is saved, so a term set meanwhile is not undone."""
    st = small_talk
    proposal = create(st)
    stale = Proposal.objects.get(pk=proposal.pk)
    list(stale.terms.all())  # a copy of version 1's terms, held in memory
    proposal_term_set(
        proposal=proposal,
        based_on_version=1,
        term=TermInput("rule", 1, "a"),
        by=None,
        via="web",
    )
    proposal_term_set(
        proposal=stale,
        based_on_version=2,
        term=TermInput("truce", 1, 10),
        by=None,
        via="web",
    )
    terms = {(t["issue"], t["phase"]): t["value"] for t in proposal_snapshot(proposal)["terms"]}
    assert terms[("rule", 1)] == "a"
    assert terms[("truce", 1)] == 10.0


def test_every_proposal_write_renews_the_talks_revision_token(
    small_talk, django_capture_on_commit_callbacks
):
    from talks.services import talk_revision

    st = small_talk
    before = talk_revision(talk_id=st.talk.pk)
    with django_capture_on_commit_callbacks(execute=True):
        proposal = create(st)
    drafted = talk_revision(talk_id=st.talk.pk)
    with django_capture_on_commit_callbacks(execute=True):
        proposal_term_set(
            proposal=proposal,
            based_on_version=1,
            term=TermInput("truce", 1, 60),
            by=None,
            via="web",
        )
    assert len({before, drafted, talk_revision(talk_id=st.talk.pk)}) == 3
