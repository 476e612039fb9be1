"""Concurrent edits never overwrite each other: many scripts PATCH the same position with
the same ETag at once, against the live server on PostgreSQL; exactly one wins."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.db import connection

from positions.models import Position, PositionRevision
from positions.services import PositionInput
from tests.api_support import write_position

REQUESTS = 200
THREADS = 24  # the server opens one database connection per request in flight


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_200_concurrent_patches_with_one_etag_give_one_success_and_199_412(small_talk, live_server):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL")
    from api.services import api_token_create

    st = small_talk
    position = write_position(st, st.numeric, st.north, PositionInput(demand=10, red_line=40))
    _, secret = api_token_create(user=st.analyst, name="load", read_only=False)
    url = f"{live_server.url}/api/v1/positions/{position.pk}/"
    start_version = position.version
    revisions_before = PositionRevision.objects.filter(position=position).count()
    go = threading.Event()
    local = threading.local()

    def patch(i: int) -> tuple[int, int]:
        if not hasattr(local, "client"):
            local.client = httpx.Client(
                headers={"Authorization": f"Token {secret}"},
                timeout=60,
                transport=httpx.HTTPTransport(retries=3),
            )
        go.wait()
        response = local.client.patch(
            url,
            json={"red_line": 41 + (i % 50), "note": f"script {i}"},
            headers={"If-Match": f'"{start_version}"'},
        )
        return response.status_code, i

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(patch, i) for i in range(REQUESTS)]
        go.set()
        results = [f.result() for f in futures]

    statuses = Counter(status for status, _ in results)
    print(f"\n{REQUESTS} concurrent PATCHes with one ETag: {dict(statuses)}")
    assert statuses == {200: 1, 412: REQUESTS - 1}
    winner = next(i for status, i in results if status == 200)
    position.refresh_from_db()
    assert position.version == start_version + 1
    assert position.red_line_value == 41 + (winner % 50)
    assert PositionRevision.objects.filter(position=position).count() == revisions_before + 1
    assert PositionRevision.objects.get(position=position, version=2).note == f"script {winner}"
    assert Position.objects.filter(pk=position.pk, deleted_at__isnull=True).exists()
