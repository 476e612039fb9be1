"""Every write of the audited kinds lands in the log, from each interface that exists."""

import datetime as dt

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken

from audit.admin import AssessedReadAdminMixin, AuditedAdminMixin
from audit.context import Interface, audit_context
from audit.models import AuditEvent
from audit.tracking import is_tracked, token_ref
from issues.models import Issue, IssueOption
from issues.services import OptionInput, issue_create, issue_options_reorder
from positions.models import Position
from positions.services import (
    PositionConflict,
    PositionInput,
    position_create,
    position_delete,
    position_update,
)
from talks.models import Membership, Talk

pytestmark = pytest.mark.django_db


def events(**filters):
    return list(AuditEvent.objects.filter(**filters).order_by("id"))


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user(
        "staffer", password="a-long-enough-secret-1", is_staff=True, is_superuser=True
    )


def admin_form(client, url, **values):
    """The admin form at `url` as a browser would post it, with `values` changed."""
    response = client.get(url)
    assert response.status_code == 200, url
    form = response.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is not None:
            data[name] = value
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for key, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{key}"] = value
        for row in formset.initial_forms:
            for name in row.fields:
                value = row[name].value()
                data[row.add_prefix(name)] = "" if value is None else value
    data.update(values)
    return data


def test_admin_writes_are_recorded_with_user_request_id_and_changes(client, staff, small_talk):
    client.force_login(staff)
    add = reverse("admin:talks_talk_add")
    response = client.post(add, admin_form(client, add, slug="new-talk", title="New talk"))
    assert response.status_code == 302
    talk = Talk.objects.get(slug="new-talk")
    (created,) = events(object_type="talks.talk", object_id=str(talk.pk))
    assert (created.action, created.user, created.interface) == ("create", staff, "admin")
    assert created.request_id == response["X-Request-ID"]
    assert created.talk_id == talk.pk
    assert created.changes["title"] == {"before": None, "after": "New talk"}

    change = reverse("admin:talks_talk_change", args=[talk.pk])
    response = client.post(change, admin_form(client, change, title="Renamed talk"))
    assert response.status_code == 302
    updated = events(object_type="talks.talk", object_id=str(talk.pk), action="update")
    assert [e.changes for e in updated] == [
        {"title": {"before": "New talk", "after": "Renamed talk"}}
    ]
    assert updated[0].request_id == response["X-Request-ID"] != created.request_id

    # A membership granted in the admin names the user and the talk it belongs to.
    add = reverse("admin:talks_membership_add")
    client.post(
        add, admin_form(client, add, user=small_talk.outsider.pk, talk=talk.pk, role="viewer")
    )
    (granted,) = events(object_type="talks.membership", action="create", talk_id=talk.pk)
    assert (granted.talk_id, granted.user) == (talk.pk, staff)
    assert granted.changes["role"]["after"] == "viewer"
    assert granted.changes["user"]["after"] == small_talk.outsider.pk


def test_admin_inline_rows_and_bulk_deletes_are_recorded(client, staff, small_talk):
    client.force_login(staff)
    add = reverse("admin:issues_issue_add")
    data = admin_form(
        client,
        add,
        talk=small_talk.talk.pk,
        key="aid",
        title="Aid",
        scale_kind="ordinal",
        priority=3,
        order=0,
        **{
            "options-TOTAL_FORMS": 1,
            "options-0-order": 0,
            "options-0-key": "trucks",
            "options-0-label": "Trucks",
        },
    )
    assert client.post(add, data).status_code == 302
    created = IssueOption.objects.get(issue__key="aid")
    (option,) = events(object_type="issues.issueoption", object_id=str(created.pk))
    assert (option.action, option.interface, option.talk_id) == (
        "create",
        "admin",
        small_talk.talk.pk,
    )
    assert option.changes["label"] == {"before": None, "after": "Trucks"}

    memberships = Membership.objects.filter(talk=small_talk.talk)
    expected = {str(pk) for pk in memberships.values_list("pk", flat=True)}
    changelist = reverse("admin:talks_membership_changelist")
    response = client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": list(expected), "post": "yes"},
    )
    assert response.status_code == 302
    deleted = events(object_type="talks.membership", action="delete")
    assert {e.object_id for e in deleted} == expected
    assert all(e.interface == "admin" and e.user == staff for e in deleted)
    assert all(e.talk_id == small_talk.talk.pk for e in deleted)
    assert deleted[0].changes["role"]["after"] is None


def test_deleting_a_talk_records_every_row_it_takes_with_it(small_talk):
    talk = small_talk.talk
    option_count = sum(i.options.count() for i in (small_talk.ordinal, small_talk.categorical))
    with audit_context(request_id="req-cascade-01"):
        Talk.objects.get(pk=talk.pk).delete()
    deleted = events(action="delete", talk_id=talk.pk)
    kinds = [e.object_type for e in deleted]
    assert kinds.count("talks.talk") == 1
    assert kinds.count("talks.membership") == 3
    assert kinds.count("talks.talkparty") == 3
    assert kinds.count("issues.issue") == 3
    assert kinds.count("issues.issueoption") == option_count
    assert {e.request_id for e in deleted} == {"req-cascade-01"}


def test_the_import_records_every_row_it_creates_as_the_system(demo):
    imported = events(interface=Interface.IMPORT)
    kinds = {e.object_type for e in imported}
    assert kinds >= {
        "talks.talk",
        "talks.party",
        "talks.talkparty",
        "talks.round",
        "talks.membership",
        "auth.user",
        "positions.source",
        "issues.issue",
        "issues.issueoption",
        "positions.position",
        "positions.proposal",
    }
    assert {e.action for e in imported} == {"create"}
    assert {e.request_id for e in imported} == {imported[0].request_id}
    attributed = {"positions.position", "positions.proposal"}  # services given `by`
    assert {e.username for e in imported if e.object_type not in attributed} == {""}
    positions = [e for e in imported if e.object_type == "positions.position"]
    assert {e.username for e in positions} == {"analyst"}
    assert len(positions) == Position.objects.count()
    users = [e for e in imported if e.object_type == "auth.user"]
    assert {e.changes["password"]["after"] for e in users} == {"[hidden]"}


def test_position_writes_are_recorded_in_their_transaction_with_the_change_note(small_talk):
    st = small_talk
    with audit_context(interface=Interface.WEB, request_id="req-position-01"):
        position = position_create(
            issue=st.numeric,
            party=st.north,
            layer="assessed",
            data=PositionInput(demand=10, red_line=40),
            by=st.analyst,
            via=Interface.WEB,
            note="first estimate",
        )
        position_update(
            position=position,
            based_on_version=1,
            data=PositionInput(demand=10, red_line=55),
            by=st.analyst,
            via=Interface.WEB,
            note="moved after the Doha round",
        )
        with pytest.raises(PositionConflict):
            position_update(
                position=position,
                based_on_version=1,
                data=PositionInput(demand=12, red_line=55),
                by=st.analyst,
                via=Interface.WEB,
                note="stale",
            )
    position_delete(
        position=position, based_on_version=2, by=st.mediator, via=Interface.API, note="withdrawn"
    )
    created, updated, deleted = events(object_type="positions.position")
    assert (created.action, updated.action, deleted.action) == ("create", "update", "delete")
    assert created.changes["red_line"] == {"before": None, "after": 40.0}
    assert updated.changes == {"red_line": {"before": 40.0, "after": 55.0}}
    assert updated.note == "moved after the Doha round"
    assert (updated.user, updated.interface, updated.request_id) == (
        st.analyst,
        "web",
        "req-position-01",
    )
    assert (deleted.user, deleted.interface) == (st.mediator, "api")
    assert deleted.changes == {"deleted": {"before": False, "after": True}}
    assert {e.talk_id for e in (created, updated, deleted)} == {st.talk.pk}


def test_an_issue_created_by_the_service_records_its_options(small_talk):
    issue = issue_create(
        talk=small_talk.talk,
        key="aid",
        title="Aid",
        scale_kind="ordinal",
        options=[OptionInput("none", "none"), OptionInput("some", "some")],
    )
    assert len(events(object_type="issues.issue", object_id=str(issue.pk))) == 1
    options = events(
        object_type="issues.issueoption",
        object_id__in=[str(pk) for pk in issue.options.values_list("pk", flat=True)],
    )
    assert [e.changes["key"]["after"] for e in options] == ["none", "some"]
    assert {e.talk_id for e in options} == {small_talk.talk.pk}


def test_api_tokens_are_recorded_without_any_token_material(small_talk):
    user = small_talk.analyst
    with audit_context(interface=Interface.API, request_id="req-token-0001"):
        token, secret = AuthToken.objects.create(user=user)
    expired, _ = AuthToken.objects.create(user=user, expiry=dt.timedelta(seconds=-1))
    ref, material = token_ref(token), (secret, token.token_key, token.digest, expired.digest)
    token.delete()
    AuthToken.objects.filter(pk=expired.pk).delete()
    issued, _, revoked, removed = events(object_type="knox.authtoken")
    assert (issued.action, issued.interface, issued.request_id) == (
        "create",
        "api",
        "req-token-0001",
    )
    assert issued.object_id == ref == revoked.object_id
    assert issued.object_label.startswith("API token of small-analyst, expires ")
    assert (revoked.action, revoked.note) == ("delete", "Token revoked.")
    assert (removed.action, removed.note) == ("delete", "Expired token removed.")
    for event in (issued, revoked, removed):
        row = repr([getattr(event, f.attname) for f in AuditEvent._meta.fields])
        assert not any(m in row for m in material)


def test_group_grants_are_recorded_as_before_and_after_sets(small_talk):
    group = Group.objects.create(name="auditors")
    small_talk.viewer.groups.add(group)
    (event,) = events(object_type="auth.user", action="update")
    assert event.changes == {"groups": {"before": [], "after": [group.pk]}}


def test_a_save_that_changes_nothing_records_nothing(small_talk):
    talk = Talk.objects.get(pk=small_talk.talk.pk)
    before = AuditEvent.objects.count()
    talk.save()
    small_talk.viewer.last_login = timezone.now()
    small_talk.viewer.save(update_fields=["last_login"])
    assert AuditEvent.objects.count() == before


def test_every_admin_of_an_audited_model_goes_through_the_audit_mixins(rf):
    request = rf.get("/admin/")
    request.user = get_user_model()(is_active=True, is_staff=True, is_superuser=True)
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in {"talks", "issues", "positions", "audit"}:
            continue
        if is_tracked(model):
            assert isinstance(model_admin, AuditedAdminMixin), model
        else:
            # Anything the signals do not record is written by services only, never here.
            assert not model_admin.has_add_permission(request), model
            assert not model_admin.has_change_permission(request), model
            assert not model_admin.has_delete_permission(request), model
        if any(f.name == "layer" for f in model._meta.fields):
            assert isinstance(model_admin, AssessedReadAdminMixin), model


def test_staff_reading_assessed_positions_in_the_admin_is_recorded(client, demo):
    staff = get_user_model().objects.get(username="admin")
    client.force_login(staff)
    assert client.get(reverse("admin:positions_position_changelist")).status_code == 200
    (listed,) = events(action="read")
    assert (listed.user, listed.interface, listed.talk_id) == (staff, "admin", demo.pk)
    declared = Position.objects.filter(layer="declared").first()
    assessed = Position.objects.filter(layer="assessed").first()
    client.get(reverse("admin:positions_position_change", args=[declared.pk]))
    assert len(events(action="read")) == 1
    client.get(reverse("admin:positions_position_change", args=[assessed.pk]))
    reads = events(action="read")
    assert len(reads) == 2
    assert reads[1].note == f"admin: position {assessed.pk}"


def test_the_editing_services_record_their_writes_under_the_request(small_talk):
    from positions.services import (
        ProposalInput,
        SourceInput,
        proposal_create,
        source_create,
        source_update,
    )
    from talks.services import membership_add, membership_set_role

    st = small_talk
    with audit_context(interface=Interface.WEB, request_id="req-services-1", user=st.analyst):
        member = membership_add(talk=st.talk, user=st.outsider, role="viewer", by=st.analyst)
        membership_set_role(membership=member, role="mediator", by=st.analyst)
        source = source_create(talk=st.talk, data=SourceInput(title="Wire"), by=st.analyst)
        source_update(
            source=source,
            based_on_version=1,
            data=SourceInput(title="Wire, corrected"),
            by=st.analyst,
        )
        issue = Issue.objects.get(pk=st.ordinal.pk)
        issue_options_reorder(
            issue=issue,
            based_on_version=issue.version,
            keys=["all", "most", "some", "none"],
            by=st.analyst,
        )
        proposal = proposal_create(
            talk=st.talk,
            data=ProposalInput(title="Package", mediator_id=st.broker.pk),
            by=st.mediator,
            via="web",
        )
    recorded = events(request_id="req-services-1")
    assert {e.interface for e in recorded} == {"web"}
    assert {e.talk_id for e in recorded} == {st.talk.pk}
    changes = [(e.object_type, e.action, e.changes) for e in recorded]
    assert (
        "talks.membership",
        "update",
        {"role": {"before": "viewer", "after": "mediator"}},
    ) in changes
    assert (
        "positions.source",
        "update",
        {
            "title": {"before": "Wire", "after": "Wire, corrected"},
            "version": {"before": 1, "after": 2},
        },
    ) in changes
    order = {"before": ["none", "some", "most", "all"], "after": ["all", "most", "some", "none"]}
    assert ("issues.issue", "update", {"option_order": order}) in changes
    (drafted,) = [e for e in recorded if e.object_type == "positions.proposal"]
    assert (drafted.action, drafted.user, drafted.object_id) == (
        "create",
        st.mediator,
        str(proposal.pk),
    )
    assert drafted.changes["title"] == {"before": None, "after": "Package"}
    assert {e.user for e in recorded if e.object_type != "positions.proposal"} == {st.analyst}
