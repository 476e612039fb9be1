"""Every API response that shows the assessed layer is recorded in the audit log, once per
talk (SECURITY.md); declared-only answers and 304s are not."""

import pytest

from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def reads(**filters) -> list[tuple[str, str, str]]:
    return list(
        AuditEvent.objects.filter(action="read", **filters)
        .order_by("id")
        .values_list("username", "interface", "note")
    )


def test_reading_assessed_data_through_the_api_is_recorded(api_talk):
    f = api_talk
    client = f.client("mediator")
    assessed = f.north_truce_assessed.pk
    client.get(f"/api/v1/positions/{assessed}/")
    client.get("/api/v1/positions/", {"talk": "small"})
    b"".join(client.get("/api/v1/positions/", {"format": "csv"}).streaming_content)
    client.get(f"/api/v1/positions/{assessed}/revisions/")
    client.get("/api/v1/revisions/", {"layer": "assessed"})
    client.get(f"/api/v1/gaps/{f.st.numeric.pk}/assessed/")
    client.get(f"/api/v1/gaps/{f.st.numeric.pk}/assessed/history/")
    client.get("/api/v1/gaps/", {"layer": "assessed"})
    client.get("/api/v1/talks/small/dashboard/")
    assert reads(talk_id=f.st.talk.pk) == [
        ("small-mediator", "api", note)
        for note in (
            f"position {assessed}",
            "positions",
            "positions CSV",
            f"revisions of position {assessed}",
            "revisions",
            "gap summary truce",
            "gap history truce",
            "gap summaries",
            "dashboard",
        )
    ]


def test_declared_answers_and_304s_record_nothing(api_talk):
    f = api_talk
    viewer = f.client("viewer")
    viewer.get("/api/v1/positions/", {"talk": "small"})
    viewer.get("/api/v1/talks/small/dashboard/")
    mediator = f.client("mediator")
    mediator.get("/api/v1/positions/", {"layer": "declared"})
    mediator.get(f"/api/v1/gaps/{f.st.numeric.pk}/declared/")
    url = f"/api/v1/positions/{f.north_truce_assessed.pk}/"
    first = mediator.get(url)
    assert mediator.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    assert [note for _, _, note in reads()] == [f"position {f.north_truce_assessed.pk}"]


def test_a_412_showing_an_assessed_position_is_recorded_too(api_talk):
    f = api_talk
    url = f"/api/v1/positions/{f.north_truce_assessed.pk}/"
    response = f.client("analyst").patch(
        url, {"demand": 30, "note": "n"}, format="json", HTTP_IF_MATCH='"7"'
    )
    assert response.status_code == 412
    assert reads() == [("small-analyst", "api", f"position {f.north_truce_assessed.pk}")]
