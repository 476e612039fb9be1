"""Database queries of one dashboard answer, for a small and a large talk (in-process)."""

from __future__ import annotations

from collections.abc import Callable

from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from ..stats import Figure

SCENARIO = "dashboard queries"


def _count(client: Client, path: str, **headers: str) -> tuple[int, int]:
    # Nothing from the cache: not the answer, nor the token's sign-in or the membership
    # remembered from the request before. Each talk is counted from the same cold start.
    cache.clear()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, **headers)
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}")
    return len(ctx), response.status_code


def query_figures(
    *,
    small: tuple[str, str],
    large: tuple[str, str],
    user,
    token: str,
    progress: Callable[[str], None],
) -> list[Figure]:
    """`small` and `large` are (slug, description) of two talks the user is an analyst of."""

    progress("dashboard queries: counting")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    figures = []
    for what, path_of, headers in (
        ("dashboard JSON (API, built)", "/api/v1/talks/{slug}/dashboard/", auth),
        ("dashboard page", "/talks/{slug}/", {}),
    ):
        counts = {}
        for slug, description in (small, large):
            counts[description], _ = _count(client, path_of.format(slug=slug), **headers)
        small_n, large_n = counts.values()
        for desc, n in counts.items():
            figures.append(
                Figure.single(
                    SCENARIO,
                    f"{what}: {desc}",
                    "queries",
                    n,
                    target="same for both talks",
                    met=small_n == large_n,
                )
            )
    figures[0].note = (
        "CaptureQueriesContext around one request through the whole middleware stack, "
        "with the cache emptied first (so nothing comes from it: not the answer, nor the "
        "token's sign-in or the membership remembered from the request before)"
    )
    return figures
