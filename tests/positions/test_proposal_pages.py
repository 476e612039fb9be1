"""The proposal pages for every role, the builder's in-place edits and their conflicts, the
comparison, and proposals on the dashboard and the issue page."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from audit.models import AuditEvent
from positions.models import Proposal, ProposalRevision
from positions.services import (
    PhaseInput,
    ProposalInput,
    TermInput,
    proposal_create,
    proposal_term_set,
)
from talks.access import ASSESSED_HIDDEN, PROPOSERS_ONLY
from tests.factories import IssueFactory, PartyFactory, TalkPartyFactory, add_options
from tests.fixtures import record

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


@pytest.fixture
def pt(filled_talk):
    """The filled small talk with a shared two-phase proposal and a private draft.

    Declared: North takes 10 to 40 days of truce, South 60 to 90, so a 50-day truce lies
    10 days beyond each red line; the pullback and rule terms lie inside both sets.
    """
    st = filled_talk
    st.shared = proposal_create(
        talk=st.talk,
        data=ProposalInput(
            title="Truce package",
            mediator_id=st.broker.pk,
            status="shared",
            phases=(PhaseInput(1, "Truce", "Signature"), PhaseInput(2, "Settlement", "Releases")),
            terms=(
                TermInput("truce", 1, 50),
                TermInput("pullback", 1, "some"),
                TermInput("rule", 2, "b"),
            ),
        ),
        by=st.mediator,
        via="web",
    )
    st.draft = proposal_create(
        talk=st.talk,
        data=ProposalInput(title="Private idea", mediator_id=st.broker.pk),
        by=st.mediator,
        via="web",
    )
    return st


def url(name: str, *args) -> str:
    return reverse(f"talks:{name}", args=["small", *args])


def read_pages(st, proposal) -> list[str]:
    return [
        url("proposals"),
        url("proposal", proposal.pk),
        url("proposal_compare", proposal.pk),
    ]


def write_pages(st, proposal) -> list[str]:
    return [url("proposal_new"), url("proposal_builder", proposal.pk)]


def post_endpoints(st, proposal) -> list[str]:
    return [
        url("proposal_suggest"),
        url("proposal_term", proposal.pk),
        url("proposal_phase", proposal.pk),
        url("proposal_details", proposal.pk),
        url("proposal_status", proposal.pk),
        url("proposal_copy", proposal.pk),
    ]


def text(response) -> str:
    return response.content.decode()


# --- Who may open what ----------------------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_sign_in(client, pt):
    for page in read_pages(pt, pt.shared) + write_pages(pt, pt.shared):
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith("/accounts/login/"), page
    for endpoint in post_endpoints(pt, pt.shared):
        assert client.post(endpoint).status_code == 302, endpoint
    # The builder's own posts, sent by htmx after the session ended: reload the whole page
    # (to the sign-in page), never swap the sign-in page into the builder.
    for endpoint in post_endpoints(pt, pt.shared)[1:5]:
        response = client.post(endpoint, headers=HX)
        assert response["HX-Refresh"] == "true", endpoint
    assert Proposal.objects.count() == 2


def test_a_non_member_gets_404_everywhere(client, pt):
    client.force_login(pt.outsider)
    for proposal in (pt.shared, pt.draft):
        pages = read_pages(pt, proposal) + write_pages(pt, proposal)
        for page in pages:
            assert client.get(page).status_code == 404, page
        for endpoint in post_endpoints(pt, proposal):
            assert client.post(endpoint, {"version": 1}).status_code == 404, endpoint


def test_a_viewer_reads_shared_proposals_only_and_changes_nothing(client, pt):
    client.force_login(pt.viewer)
    listing = text(client.get(url("proposals")))
    assert "Truce package" in listing
    assert "Private idea" not in listing
    assert "New proposal" not in listing
    assert "Suggest a package" not in listing
    for page in read_pages(pt, pt.shared):
        assert client.get(page).status_code == 200, page
    for page in read_pages(pt, pt.draft)[1:]:
        assert client.get(page).status_code == 404, page
    for page in write_pages(pt, pt.shared):
        response = client.get(page)
        assert response.status_code == 403, page
        assert escape(PROPOSERS_ONLY) in text(response)
    for endpoint in post_endpoints(pt, pt.shared):
        assert client.post(endpoint, {"version": 1}).status_code == 403, endpoint
    page = text(client.get(url("proposal", pt.shared.pk)))
    assert "Edit in the builder" not in page
    assert "Copy into a new draft" not in page
    assert ProposalRevision.objects.count() == 2


def test_a_viewer_asking_for_the_assessed_evaluation_gets_the_declared_one(client, pt):
    client.force_login(pt.viewer)
    page = text(client.get(url("proposal", pt.shared.pk), {"layer": "assessed"}))
    assert ASSESSED_HIDDEN in page
    assert "declared positions" in page
    assert "10 days beyond its red line" in page  # the declared figure, not the assessed one
    assert not AuditEvent.objects.filter(action="read").exists()


@pytest.mark.parametrize("role", ["mediator", "analyst"])
def test_mediators_and_analysts_open_every_page(client, pt, role):
    client.force_login(getattr(pt, role))
    for proposal in (pt.shared, pt.draft):
        for page in read_pages(pt, proposal) + write_pages(pt, proposal):
            response = client.get(page)
            assert response.status_code == 200, page
            html = text(response)
            assert "style=" not in html, page
            assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None, page
    listing = text(client.get(url("proposals")))
    assert "Private idea" in listing
    assert "Suggest a package" in listing


# --- The proposal page ----------------------------------------------------------------------


def test_the_proposal_page_shows_the_grid_with_misses_in_units_and_the_verdict(client, pt):
    client.force_login(pt.mediator)
    page = text(client.get(url("proposal", pt.shared.pk)))
    assert 'data-verdict="blocked"' in page
    truce = re.search(r'<tr data-term="truce-1".*?</tr>', page, re.S).group(0)
    assert truce.count("Rejects") == 2
    assert truce.count("10 days beyond its red line") == 2
    pullback = re.search(r'<tr data-term="pullback-1".*?</tr>', page, re.S).group(0)
    assert pullback.count("Accepts") == 2
    assert "North rejects Truce (phase 1): 10 days beyond its red line" in page
    assert "Phase 2: Settlement" in page
    assert "opens on: Releases" in page
    # Satisfaction, every priority 3: North concedes 40 of 100 days, one of three steps and
    # its rule option, so (0.6 + 2/3 + 0) / 3; South 40 days, two steps and its option.
    satisfaction = re.search(r'<tr class="satisfaction-row">.*?</tr>', page, re.S).group(0)
    north = re.search(r'data-party="North".*?<span class="figure">(.*?)</span>', satisfaction, re.S)
    south = re.search(r'data-party="South".*?<span class="figure">(.*?)</span>', satisfaction, re.S)
    assert (north.group(1), south.group(1)) == ("42%", "31%")

    assessed = client.get(url("proposal", pt.shared.pk), {"layer": "assessed"})
    assert 'data-verdict="acceptable"' in text(assessed)
    reads = AuditEvent.objects.filter(action="read", talk=pt.talk)
    assert list(reads.values_list("note", flat=True)) == [f"proposal {pt.shared.pk}"]


def test_a_linkage_broken_by_the_package_is_shown_with_its_miss(client, pt):
    from positions.services import LinkInput, position_input_from, position_update

    position = pt.categorical.positions.get(party=pt.south, layer="declared")
    position_update(
        position=position,
        based_on_version=position.version,
        data=position_input_from(position).with_changes(links=(LinkInput("truce", (70.0, 100.0)),)),
        by=pt.analyst,
        via="web",
        note="South's rule holds only with a long truce.",
    )
    client.force_login(pt.mediator)
    page = text(client.get(url("proposal", pt.shared.pk)))
    assert "only if Truce is between 70 days and 100 days" in page
    assert "South&#x27;s condition on Rule fails (phase 2): Truce misses by 20 days" in page


# --- The builder ----------------------------------------------------------------------------


def set_term(client, st, proposal, issue, phase, value, version, **extra):
    return client.post(
        url("proposal_term", proposal.pk),
        {"version": version, "issue": issue, "phase": phase, "value": value, **extra},
        headers=HX,
    )


def cell(html: str, term: str, party: str) -> str:
    row = re.search(rf'<tr data-term="{term}".*?</tr>', html, re.S).group(0)
    return re.search(rf'<td[^>]*data-party="{party}"[^>]*>.*?</td>', row, re.S).group(0)


def test_a_term_edit_re_evaluates_in_place_and_keeps_a_revision(client, pt):
    client.force_login(pt.mediator)
    response = set_term(client, pt, pt.shared, "pullback", 1, "none", 2 - 1)
    assert response.status_code == 200
    html = text(response)
    assert html.startswith('\n<div id="builder"') or html.lstrip().startswith('<div id="builder"')
    assert "<html" not in html  # the fragment htmx swaps in
    assert "Rejects" in cell(html, "pullback-1", "South")
    assert "1 step beyond its red line" in cell(html, "pullback-1", "South")
    assert 'name="version" value="2"' in html
    revision = ProposalRevision.objects.get(proposal=pt.shared, version=2)
    assert (revision.by, revision.via) == (pt.mediator, "web")
    assert revision.note == "Term on pullback, phase 1, set to none."

    again = text(set_term(client, pt, pt.shared, "pullback", 1, "some", 2))
    assert "Accepts" in cell(again, "pullback-1", "South")
    assert Proposal.objects.get(pk=pt.shared.pk).version == 3


def test_a_stale_term_edit_shows_the_conflict_and_can_be_applied_on_top(client, pt):
    proposal_term_set(
        proposal=pt.shared,
        based_on_version=1,
        term=TermInput("truce", 1, 45),
        by=pt.analyst,
        via="api",
        note="Moved by a colleague.",
    )
    client.force_login(pt.mediator)
    html = text(set_term(client, pt, pt.shared, "truce", 1, "55", 1, action="set"))
    assert "Your change was not saved" in html
    assert "Set Truce, phase 1, to 55 days" in html
    assert "Moved by a colleague." in html
    assert 'value="45"' in html  # their value, in the editor
    saved = Proposal.objects.get(pk=pt.shared.pk)
    assert saved.version == 2
    # The banner's form holds the change, on top of the current version.
    form = re.search(r'<div class="conflict-banner".*?</form>', html, re.S).group(0)
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form))
    fields.pop("csrfmiddlewaretoken")
    assert fields == {
        "issue": "truce",
        "phase": "1",
        "value": "55",
        "action": "set",
        "version": "2",
    }
    applied = text(client.post(url("proposal_term", pt.shared.pk), fields, headers=HX))
    assert "not saved" not in applied
    terms = {t.issue.key: t.value for t in Proposal.objects.get(pk=pt.shared.pk).terms.all()}
    assert terms["truce"] == 55.0


def test_the_same_change_sent_twice_is_no_conflict(client, pt):
    client.force_login(pt.mediator)
    set_term(client, pt, pt.shared, "truce", 1, "55", 1)
    twice = text(set_term(client, pt, pt.shared, "truce", 1, "55", 1))
    assert "not saved" not in twice
    assert Proposal.objects.get(pk=pt.shared.pk).version == 2


def test_a_value_off_the_scale_is_refused_inline_and_nothing_is_saved(client, pt):
    client.force_login(pt.analyst)
    html = text(set_term(client, pt, pt.shared, "truce", 1, "400", 1))
    error = re.search(r'<p class="errorlist" id="term-truce-1-error">(.*?)</p>', html).group(1)
    assert error == escape("This value lies outside the issue's scale.")
    assert 'value="400"' in html
    assert 'aria-invalid="true"' in html
    assert Proposal.objects.get(pk=pt.shared.pk).version == 1
    words = text(set_term(client, pt, pt.shared, "truce", 1, "soon", 1))
    assert "Enter a number" in words
    nowhere = text(set_term(client, pt, pt.shared, "truce", 7, "20", 1))
    assert "phase 7 is not one of the proposal" in nowhere
    assert Proposal.objects.get(pk=pt.shared.pk).version == 1


def test_clearing_a_term_and_posting_without_script(client, pt):
    client.force_login(pt.mediator)
    response = client.post(
        url("proposal_term", pt.shared.pk),
        {"version": 1, "issue": "rule", "phase": 2, "value": "b", "action": "clear"},
    )
    assert response.status_code == 302
    assert response["Location"] == url("proposal_builder", pt.shared.pk)
    keys = [t.issue.key for t in Proposal.objects.get(pk=pt.shared.pk).terms.all()]
    assert sorted(keys) == ["pullback", "truce"]
    page = text(client.get(response["Location"]))
    assert "Clear Rule, phase 2." in page  # the message after the redirect


def test_phases_are_added_renamed_and_removed_from_the_builder(client, pt):
    client.force_login(pt.mediator)
    phase = url("proposal_phase", pt.shared.pk)
    added = text(
        client.post(
            phase,
            {"version": 1, "action": "add", "title": "Rebuild", "trigger": "A year of calm"},
            headers=HX,
        )
    )
    assert "Phase 3" in added
    assert "A year of calm" in added
    client.post(phase, {"version": 2, "action": "save", "number": 1, "title": "Truce first"})
    removed = text(client.post(phase, {"version": 3, "action": "remove", "number": 2}, headers=HX))
    assert "Remove phase 2 and its terms: done." in removed
    snap = [(ph.number, ph.title) for ph in Proposal.objects.get(pk=pt.shared.pk).phases.all()]
    assert snap == [(1, "Truce first"), (2, "Rebuild")]
    assert not Proposal.objects.get(pk=pt.shared.pk).terms.filter(issue__key="rule").exists()


def test_a_stale_phase_change_shows_the_conflict_and_loses_nothing(client, pt):
    client.force_login(pt.mediator)
    phase = url("proposal_phase", pt.shared.pk)
    client.post(phase, {"version": 1, "action": "save", "number": 1, "title": "Theirs"})
    mine = {"version": 1, "action": "add", "title": "Rebuild", "trigger": "A year of calm"}
    html = text(client.post(phase, mine, headers=HX))
    assert "Your change was not saved" in html
    assert "Add phase 3" in html
    assert 'name="trigger" value="A year of calm"' in html  # kept, ready to post again
    assert Proposal.objects.get(pk=pt.shared.pk).phases.count() == 2
    again = text(client.post(phase, {**mine, "version": 2}, headers=HX))
    assert "Add phase 3: done." in again
    titles = [ph.title for ph in Proposal.objects.get(pk=pt.shared.pk).phases.all()]
    assert titles == ["Theirs", "Settlement", "Rebuild"]


def test_a_new_draft_starts_from_an_earlier_version(client, pt):
    client.force_login(pt.analyst)
    set_term(client, pt, pt.shared, "truce", 1, "55", 1)
    page = text(client.get(url("proposal", pt.shared.pk)))
    assert "Start a new draft from version 1" in page
    assert "Start a new draft from version 2" not in page  # the current one: copy it above
    client.post(url("proposal_copy", pt.shared.pk), {"version": 1})
    copy = Proposal.objects.get(copied_from=pt.shared)
    truce = copy.terms.get(issue__key="truce")
    assert (copy.status, truce.value) == ("draft", 50.0)
    assert copy.revisions.get().note == "Copied from “Truce package” (version 1)."


def test_details_and_status_change_and_a_closed_proposal_only_copies(client, pt):
    client.force_login(pt.analyst)
    details = url("proposal_details", pt.draft.pk)
    bad = text(
        client.post(details, {"version": 1, "title": "", "mediator": pt.broker.pk}, headers=HX)
    )
    assert "This field is required." in bad
    client.post(
        details,
        {"version": 1, "title": "Sharper idea", "mediator": pt.broker.pk, "summary": "Short."},
    )
    status = url("proposal_status", pt.draft.pk)
    shared = text(client.post(status, {"version": 2, "status": "shared"}, headers=HX))
    assert "The proposal is now shared with parties." in shared
    missing = text(client.post(status, {"version": 3, "status": "superseded"}, headers=HX))
    assert "Say which proposal supersedes this one." in missing
    superseded = text(
        client.post(
            status,
            {"version": 3, "status": "superseded", "superseded_by": pt.shared.pk},
            headers=HX,
        )
    )
    assert "can no longer change" in superseded
    assert "Superseded by" in superseded
    draft = Proposal.objects.get(pk=pt.draft.pk)
    assert (draft.title, draft.status, draft.superseded_by) == (
        "Sharper idea",
        "superseded",
        pt.shared,
    )
    copied = client.post(url("proposal_copy", pt.draft.pk))
    copy = Proposal.objects.get(copied_from=pt.draft)
    assert copied["Location"] == url("proposal_builder", copy.pk)
    assert (copy.title, copy.status) == ("Sharper idea (revised)", "draft")


def test_a_package_is_suggested_from_the_list_page(client, pt):
    client.force_login(pt.mediator)
    response = client.post(url("proposal_suggest"), {"mediator": pt.broker.pk, "layer": "assessed"})
    proposal = Proposal.objects.get(title="Bridging package (assessed positions)")
    assert response["Location"] == url("proposal_builder", proposal.pk) + "?layer=assessed"
    assert proposal.created_by == pt.mediator
    builder = text(client.get(response["Location"]))
    assert 'data-verdict="acceptable"' in builder  # every assessed issue has a zone


# --- The comparison -------------------------------------------------------------------------


def test_two_versions_compare_term_by_term_with_the_changes_marked(client, pt):
    client.force_login(pt.mediator)
    set_term(client, pt, pt.shared, "truce", 1, "55", 1)
    page = text(client.get(url("proposal_compare", pt.shared.pk)))
    row = re.search(r'<tr class="changed">.*?</tr>', page, re.S).group(0)
    assert "Truce" in row
    assert "50 days" in row
    assert "55 days" in row
    assert "1 of 3 differ" in page
    other = text(client.get(url("proposal_compare", pt.shared.pk), {"with": pt.draft.pk}))
    assert other.count('<tr class="removed">') == 3
    assert "Private idea" in other


def test_a_viewer_compares_only_the_shared_versions(client, pt):
    client.force_login(pt.viewer)
    response = client.get(url("proposal_compare", pt.shared.pk), {"with": pt.draft.pk})
    assert response.status_code == 200
    assert "Private idea" not in text(response)  # not a choice: the default comparison


# --- Proposals on the talk's other pages ----------------------------------------------------


def test_the_issue_page_lists_the_proposals_with_a_term_on_it(client, pt):
    client.force_login(pt.mediator)
    page = text(client.get(reverse("talks:issue", args=["small", "truce"])))
    section = re.search(r'<section class="card issue-proposals".*?</section>', page, re.S).group(0)
    assert "Truce package" in section
    assert "50 days" in section
    assert "North rejects it: 10 days beyond its red line" in section
    assert "Private idea" not in section  # it sets no term on the truce
    client.force_login(pt.viewer)
    rule = text(client.get(reverse("talks:issue", args=["small", "rule"])))
    assert "Truce package" in rule
    assert "Within every red line shown" in rule


def test_the_dashboard_lists_the_latest_proposals(client, pt):
    client.force_login(pt.viewer)
    page = text(client.get(reverse("talks:dashboard", args=["small"])))
    card = re.search(r'<section class="card proposals-card".*?</section>', page, re.S).group(0)
    assert "Truce package" in card
    assert "Private idea" not in card


# --- Query counts ---------------------------------------------------------------------------


def grow(st) -> None:
    """More issues, a third principal, more proposals and versions."""
    third = PartyFactory(name="East")
    TalkPartyFactory(talk=st.talk, party=third)
    for n in range(3):
        issue = IssueFactory(talk=st.talk, key=f"n{n}", title=f"Numeric {n}", scale_max=50)
        ordinal = IssueFactory(
            talk=st.talk, key=f"o{n}", scale_kind="ordinal", scale_min=None, scale_max=None
        )
        add_options(ordinal, "x", "y", "z")
        for layer in ("declared", "assessed"):
            for party in (st.north, st.south, third):
                record(st, issue, party, layer, demand=5, red_line=20)
            record(st, ordinal, third, layer, demand="x", red_line="y")
        proposal_term_set(
            proposal=st.shared,
            based_on_version=Proposal.objects.get(pk=st.shared.pk).version,
            term=TermInput(issue.key, 2, 10 + n),
            by=st.mediator,
            via="web",
        )
        proposal_create(
            talk=st.talk,
            data=ProposalInput(
                title=f"Idea {n}",
                mediator_id=st.broker.pk,
                status="shared",
                terms=(TermInput(issue.key, 1, 5), TermInput(ordinal.key, 1, "y")),
            ),
            by=st.mediator,
            via="web",
        )


def count(client, page) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(page).status_code == 200
    return len(queries)


def test_page_query_counts_do_not_grow_with_the_talk(
    client, pt, django_capture_on_commit_callbacks, django_assert_num_queries
):
    client.force_login(pt.mediator)
    set_term(client, pt, pt.shared, "truce", 1, "55", 1)  # two versions to compare
    pages = [
        url("proposals") + "?layer=assessed",
        url("proposal", pt.shared.pk) + "?layer=assessed",
        url("proposal_builder", pt.shared.pk),
        url("proposal_compare", pt.shared.pk),
        url("proposal_compare", pt.shared.pk) + f"?with={pt.draft.pk}",
    ]
    small = {page: count(client, page) for page in pages}
    with django_capture_on_commit_callbacks(execute=True):
        grow(pt)
    for page in pages:
        with django_assert_num_queries(small[page], info=page):
            assert client.get(page).status_code == 200
    term = url("proposal_term", pt.shared.pk)
    version = Proposal.objects.get(pk=pt.shared.pk).version
    with CaptureQueriesContext(connection) as edit:
        set_term(client, pt, pt.shared, "truce", 1, "60", version)
    assert len(edit) < 60, term
