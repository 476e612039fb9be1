"""Proposals through the API: drafting by mediators and analysts, optimistic concurrency,
per-field errors, what viewers may read, evaluations equal to the engine's, comparisons."""

import re

import pytest

from audit.models import AuditEvent
from issues.evaluation import Term
from positions import services
from positions.models import Proposal, ProposalRevision
from positions.selectors import package_evaluate
from positions.services import (
    PhaseInput,
    ProposalInput,
    TermInput,
    proposal_create,
    proposal_update,
)
from tests.api import test_readme
from tests.api_support import body

pytestmark = pytest.mark.django_db

demo_server = test_readme.demo_server  # the demo on a live server, with an analyst's token

URL = "/api/v1/proposals/"


def detail(proposal, suffix: str = "") -> str:
    return f"{URL}{proposal.pk}/{suffix}"


@pytest.fixture
def world(api_talk):
    """The API talk with a shared proposal (two phases) and a mediator's draft."""
    f = api_talk
    st = f.st
    f.shared = proposal_create(
        talk=st.talk,
        data=ProposalInput(
            title="Truce package",
            mediator_id=st.broker.pk,
            status="draft",
            phases=(PhaseInput(1, "Truce", "Signature"), PhaseInput(2, "Peace", "Releases")),
            terms=(TermInput("truce", 1, 50), TermInput("pullback", 2, "most")),
        ),
        by=st.mediator,
        via="web",
    )
    f.shared = proposal_update(
        proposal=f.shared,
        based_on_version=1,
        data=services.proposal_input_from(f.shared).with_changes(status="shared"),
        by=st.mediator,
        via="web",
        note="Carried to both sides.",
    )
    f.draft = proposal_create(
        talk=st.talk,
        data=ProposalInput(title="Private idea", mediator_id=st.broker.pk),
        by=st.mediator,
        via="web",
    )
    return f


def new_proposal(f, **over):
    return {
        "talk": "small",
        "title": "Quick truce",
        "mediator": f.st.broker.pk,
        "terms": [{"issue": "truce", "value": 45}, {"issue": "rule", "value": "b"}],
        "note": "From the Cairo notes.",
        **over,
    }


# --- Drafting -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["mediator", "analyst"])
def test_mediators_and_analysts_draft_a_proposal_with_an_etag(world, role):
    response = world.client(role).post(URL, new_proposal(world), format="json")
    assert response.status_code == 201, response.content
    data = body(response)
    assert response["ETag"] == '"1"'
    assert response["Location"].endswith(f"{URL}{data['id']}/")
    assert (data["status"], data["mediator_name"], data["version"]) == ("draft", "Broker", 1)
    assert data["phases"] == [{"number": 1, "title": "", "trigger": ""}]
    # In issue order (the small talk's issues share order 0, so by key).
    assert data["terms"] == [
        {"issue": "rule", "phase": 1, "value": "b", "label": "b"},
        {"issue": "truce", "phase": 1, "value": 45.0, "label": "45 days"},
    ]
    revision = ProposalRevision.objects.get(proposal_id=data["id"])
    assert (revision.via, revision.note, revision.by.username) == (
        "api",
        "From the Cairo notes.",
        f"small-{role}",
    )


@pytest.mark.parametrize(
    ("over", "field", "message"),
    [
        ({"title": "  "}, "title", services.PROPOSAL_TITLE_REQUIRED),
        ({"mediator": "Broker"}, "mediator", "A valid integer is required."),
        ("north-as-mediator", "mediator", services.PROPOSAL_MEDIATOR),
        ({"status": "withdrawn"}, "status", "A proposal cannot go from new to withdrawn."),
        ({"status": "secret"}, "status", '"secret" is not a valid choice.'),
        ({"terms": [{"issue": "truce", "value": 500}]}, "terms", "outside the issue's scale"),
        ({"terms": [{"issue": "truce", "value": True}]}, "terms[0].value", "Enter a number"),
        ({"terms": [{"issue": "nowhere", "value": 1}]}, "terms", "not an issue of this talk"),
        ({"terms": [{"issue": "truce", "phase": 2, "value": 1}]}, "terms", "phase 2 is not"),
        ({"phases": [{"number": 2}]}, "phases", services.PHASES_NUMBERING),
        ({"phases": [{"number": 0}]}, "phases[0].number", "greater than or equal to 1"),
        ({"superseded_by": 1}, "superseded_by", services.SUPERSEDED_BY_UNEXPECTED),
        ({"talk": "nowhere"}, "talk", "Unknown talk: nowhere."),
    ],
)
def test_a_bad_proposal_is_a_400_at_its_field_and_nothing_is_saved(world, over, field, message):
    if over == "north-as-mediator":
        over = {"mediator": world.st.north.pk}
    before = (Proposal.objects.count(), ProposalRevision.objects.count())
    response = world.client("mediator").post(URL, new_proposal(world, **over), format="json")
    assert response.status_code == 400, response.content
    data = body(response)
    assert data["code"] == "invalid"
    assert message in data["errors"][field][0], data
    assert (Proposal.objects.count(), ProposalRevision.objects.count()) == before


@pytest.mark.parametrize("role", ["viewer", "analyst-read-only"])
def test_viewers_and_read_only_tokens_cannot_draft(world, role):
    response = world.client(role).post(URL, new_proposal(world), format="json")
    assert response.status_code == 403
    assert not Proposal.objects.filter(title="Quick truce").exists()


# --- Concurrency ----------------------------------------------------------------------------


def test_a_change_needs_the_current_version_and_a_stale_one_changes_nothing(world):
    client = world.client("mediator")
    url = detail(world.shared)
    got = client.get(url)
    assert got["ETag"] == '"2"'
    assert client.get(url, HTTP_IF_NONE_MATCH='"2"').status_code == 304

    missing = client.patch(url, {"title": "Renamed"}, format="json")
    assert missing.status_code == 428
    assert body(missing)["code"] == "precondition_required"

    changed = client.patch(url, {"title": "Renamed"}, format="json", HTTP_IF_MATCH='"2"')
    assert changed.status_code == 200, changed.content
    assert (changed["ETag"], body(changed)["title"]) == ('"3"', "Renamed")

    stale = client.patch(url, {"title": "Mine"}, format="json", HTTP_IF_MATCH='"2"')
    assert stale.status_code == 412
    data = body(stale)
    assert (data["code"], data["current_version"], stale["ETag"]) == ("stale_version", 3, '"3"')
    assert data["current"]["title"] == "Renamed"
    assert data["current"] == body(client.get(url))
    world.shared.refresh_from_db()
    assert (world.shared.title, world.shared.version) == ("Renamed", 3)


def test_a_term_is_set_and_removed_by_its_own_url(world):
    client = world.client("analyst")
    url = detail(world.shared, "terms/truce/1/")
    set_ = client.put(url, {"value": 65}, format="json", HTTP_IF_MATCH='"2"')
    assert set_.status_code == 200, set_.content
    assert set_["ETag"] == '"3"'
    assert {"issue": "truce", "phase": 1, "value": 65.0, "label": "65 days"} in body(set_)["terms"]
    bad = client.put(url, {"value": 900}, format="json", HTTP_IF_MATCH='"3"')
    assert bad.status_code == 400
    assert "outside the issue's scale" in body(bad)["errors"]["terms"][0]
    stale = client.delete(url, HTTP_IF_MATCH='"2"')
    assert stale.status_code == 412
    removed = client.delete(url, HTTP_IF_MATCH='"3"')
    assert removed.status_code == 200
    assert [t["issue"] for t in body(removed)["terms"]] == ["pullback"]
    gone = client.delete(url, HTTP_IF_MATCH='"4"')
    assert gone.status_code == 400
    assert body(gone)["errors"]["terms"] == [services.TERM_NOT_FOUND.format(issue="truce", phase=1)]
    notes = list(world.shared.revisions.order_by("version").values_list("note", flat=True))
    assert notes[-2:] == ["Term on truce, phase 1, set to 65.", "Term on truce, phase 1, removed."]


def test_a_proposal_is_withdrawn_by_its_status_and_then_stays_as_it_is(world):
    client = world.client("mediator")
    url = detail(world.shared)
    withdrawn = client.patch(url, {"status": "withdrawn"}, format="json", HTTP_IF_MATCH='"2"')
    assert body(withdrawn)["status"] == "withdrawn"
    again = client.patch(url, {"title": "x"}, format="json", HTTP_IF_MATCH='"3"')
    assert again.status_code == 400
    assert body(again)["errors"]["status"] == [services.PROPOSAL_CLOSED.format(status="withdrawn")]
    assert client.delete(url, HTTP_IF_MATCH='"3"').status_code == 405


def test_superseding_names_the_successor_and_a_copy_names_its_source(world):
    client = world.client("mediator")
    copy = client.post(detail(world.shared, "copy/"), {}, format="json")
    assert copy.status_code == 201, copy.content
    new = body(copy)
    assert (new["title"], new["status"], new["copied_from"]) == (
        "Truce package (revised)",
        "draft",
        world.shared.pk,
    )
    assert new["terms"] == body(client.get(detail(world.shared)))["terms"]
    assert copy["Location"].endswith(f"{URL}{new['id']}/")
    superseded = client.patch(
        detail(world.shared),
        {"status": "superseded", "superseded_by": new["id"]},
        format="json",
        HTTP_IF_MATCH='"2"',
    )
    assert (body(superseded)["status"], body(superseded)["superseded_by"]) == (
        "superseded",
        new["id"],
    )


# --- What viewers read ----------------------------------------------------------------------


def test_viewers_read_shared_proposals_only_and_their_declared_evaluation(world):
    viewer = world.client("viewer")
    listed = body(viewer.get(URL, {"talk": "small"}))["results"]
    assert [p["title"] for p in listed] == ["Truce package"]
    assert viewer.get(detail(world.draft)).status_code == 404
    assert viewer.get(detail(world.draft, "evaluation/")).status_code == 404
    assert viewer.get(detail(world.shared, "evaluation/")).status_code == 200
    assessed = viewer.get(detail(world.shared, "evaluation/"), {"layer": "assessed"})
    assert assessed.status_code == 404
    # The shared proposal's history starts where it was shared: its draft stays private.
    history = body(viewer.get(detail(world.shared, "revisions/")))["results"]
    assert [r["version"] for r in history] == [2]
    mediator = body(world.client("mediator").get(detail(world.shared, "revisions/")))
    assert [r["version"] for r in mediator["results"]] == [2, 1]
    assert viewer.get(detail(world.shared, "compare/"), {"version": 1}).status_code == 400
    mediators = {p["title"] for p in body(world.client("mediator").get(URL))["results"]}
    assert mediators == {"Truce package", "Private idea"}
    drafts = body(world.client("analyst").get(URL, {"status": "draft"}))["results"]
    assert [p["title"] for p in drafts] == ["Private idea"]


def test_a_viewer_is_not_told_of_the_draft_a_shared_proposal_was_copied_from(world):
    copy = services.proposal_copy(proposal=world.draft, by=world.st.mediator, via="web")
    proposal_update(
        proposal=copy,
        based_on_version=1,
        data=services.proposal_input_from(copy).with_changes(status="shared"),
        by=world.st.mediator,
        via="web",
    )
    assert body(world.client("viewer").get(detail(copy)))["copied_from"] is None
    assert body(world.client("mediator").get(detail(copy)))["copied_from"] == world.draft.pk


# --- Evaluation -----------------------------------------------------------------------------


@pytest.mark.parametrize("layer", ["declared", "assessed"])
def test_the_evaluation_is_the_engines_on_the_layer_asked_for(world, layer):
    response = world.client("mediator").get(detail(world.shared, "evaluation/"), {"layer": layer})
    assert response.status_code == 200
    data = body(response)
    expected = package_evaluate(
        talk=world.st.talk,
        terms=[Term("truce", 1, 50.0), Term("pullback", 2, "most")],
        layer=layer,
    )
    assert data == {
        "proposal": world.shared.pk,
        "version": 2,
        "layer": layer,
        **expected.to_dict(),
        "not_evaluated": [],
    }
    truce = {v["party"]: v for v in data["verdicts"] if v["issue_key"] == "truce"}
    if layer == "declared":
        # North's red line is 40 days and South's 60: 50 lies 10 beyond each.
        assert not data["acceptable"]
        assert (truce["North"]["beyond_amount"], truce["South"]["beyond_amount"]) == (10, 10)
    else:
        assert all(v["accepted"] for v in truce.values())
    assert response["ETag"]
    again = world.client("mediator").get(
        detail(world.shared, "evaluation/"), {"layer": layer}, HTTP_IF_NONE_MATCH=response["ETag"]
    )
    assert again.status_code == 304
    reads = AuditEvent.objects.filter(
        action="read", note=f"evaluation of proposal {world.shared.pk}"
    )
    assert reads.count() == (1 if layer == "assessed" else 0)


def test_an_earlier_version_is_evaluated_on_request(world):
    client = world.client("mediator")
    client.put(
        detail(world.shared, "terms/truce/1/"), {"value": 55}, format="json", HTTP_IF_MATCH='"2"'
    )
    old = body(client.get(detail(world.shared, "evaluation/"), {"version": 2}))
    now = body(client.get(detail(world.shared, "evaluation/")))
    assert (old["version"], now["version"]) == (2, 3)
    assert [v["value"] for v in old["verdicts"] if v["issue_key"] == "truce"] == [50.0, 50.0]
    assert [v["value"] for v in now["verdicts"] if v["issue_key"] == "truce"] == [55.0, 55.0]
    for params, field in [({"version": 9}, "version"), ({"layer": "secret"}, "layer")]:
        bad = client.get(detail(world.shared, "evaluation/"), params)
        assert bad.status_code == 400
        assert field in body(bad)["errors"]


def test_a_suggested_package_comes_with_its_evaluation(world):
    response = world.client("mediator").post(
        f"{URL}suggest/",
        {"talk": "small", "mediator": world.st.broker.pk, "layer": "assessed"},
        format="json",
    )
    assert response.status_code == 201, response.content
    data = body(response)
    assert (data["status"], data["title"]) == ("draft", "Bridging package (assessed positions)")
    terms = [Term(t["issue"], t["phase"], t["value"]) for t in data["terms"]]
    # Only the truce has assessed positions: the other issues have no bridging point there.
    assert {t.issue_key for t in terms} == {"truce"}
    assert data["summary"].endswith("Left out for want of positions: Pullback, Rule.")
    expected = package_evaluate(talk=world.st.talk, terms=terms, layer="assessed")
    assert data["evaluation"] == {
        "proposal": data["id"],
        "version": 1,
        "layer": "assessed",
        **expected.to_dict(),
        "not_evaluated": [],
    }
    assert AuditEvent.objects.filter(note=f"evaluation of proposal {data['id']}").exists()
    viewer = world.client("viewer").post(
        f"{URL}suggest/", {"talk": "small", "mediator": world.st.broker.pk}, format="json"
    )
    assert viewer.status_code == 403


# --- Comparison -----------------------------------------------------------------------------


def test_two_versions_and_two_proposals_compare_term_by_term(world):
    client = world.client("mediator")
    client.put(
        detail(world.shared, "terms/truce/1/"), {"value": 55}, format="json", HTTP_IF_MATCH='"2"'
    )
    last = body(client.get(detail(world.shared, "compare/")))
    assert (last["before"]["version"], last["after"]["version"]) == (2, 3)
    assert last["terms"] == [
        {"issue_key": "pullback", "phase": 2, "before": "most", "after": "most", "change": "same"},
        {"issue_key": "truce", "phase": 1, "before": 50.0, "after": 55.0, "change": "changed"},
    ]
    first = body(client.get(detail(world.shared, "compare/"), {"version": 1, "against": 2}))
    assert first["fields"] == {"status": ["draft", "shared"]}
    other = body(client.get(detail(world.shared, "compare/"), {"with": world.draft.pk}))
    assert other["after"] == {
        "proposal": world.draft.pk,
        "version": 1,
        "title": "Private idea",
        "status": "draft",
    }
    assert {t["change"] for t in other["terms"]} == {"removed"}
    assert (
        other["phases"]
        == [
            {
                "number": 2,
                "before": {"number": 2, "title": "Peace", "trigger": "Releases"},
                "after": None,
            },
            {
                "number": 1,
                "before": {"number": 1, "title": "Truce", "trigger": "Signature"},
                "after": {"number": 1, "title": "", "trigger": ""},
            },
        ][::-1]
    )
    both = client.get(detail(world.shared, "compare/"), {"with": world.draft.pk, "version": 1})
    assert body(both)["errors"]["with"] == [
        "Compare with another proposal (with=) or two versions (version=, against=)."
    ]


def test_a_term_the_scale_no_longer_holds_is_listed_not_evaluated(world):
    from issues.models import Issue

    client = world.client("mediator")
    client.put(
        detail(world.shared, "terms/truce/1/"), {"value": 98}, format="json", HTTP_IF_MATCH='"2"'
    )
    Issue.objects.filter(pk=world.st.numeric.pk).update(scale_max=95)  # narrowed since
    response = client.get(detail(world.shared, "evaluation/"))
    assert response.status_code == 200
    data = body(response)
    assert data["not_evaluated"] == [
        {
            "issue_key": "truce",
            "phase": 1,
            "value": 98.0,
            "reason": "This value lies outside the issue's scale.",
        }
    ]
    assert {v["issue_key"] for v in data["verdicts"]} == {"pullback"}


# --- The README's example -------------------------------------------------------------------


def test_the_readme_proposal_example_runs_as_written(demo_server):
    from tests.api.test_readme import README, run

    env, cwd = demo_server
    section = README.read_text().split("## Proposals", 1)[1].split("\n## ", 1)[0]
    (script,) = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    out = run(["bash", "-euo", "pipefail", "-c", script], env, cwd).stdout.splitlines()
    proposal = Proposal.objects.get(title="Bridging package (assessed positions)")
    assert proposal.version == 2
    assert proposal.revisions.get(version=2).note == "Closer to what Hamas asks."
    # Assessed: Israel's ceiling is 35 prisoners per hostage, so 45 lies 10 beyond it; the
    # bridging governance (a technocratic committee) breaks Israel's withdrawal linkage.
    assert out[0] == "acceptable: False"
    assert "term Israel prisoners 10.0" in out
    assert "condition Israel withdrawal 1.0" in out
    assert out[-1] == "prisoners 40.0 -> 45.0"
