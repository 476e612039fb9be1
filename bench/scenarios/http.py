"""Load on the app under gunicorn: dashboard throughput with wrk, history pages with a
bounded sequential client. Everything on loopback."""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ..stats import Figure, percentile

WRK_SCRIPT = Path(__file__).resolve().parent.parent / "wrk_report.lua"
MINIMAL = "minimal JSON view (/healthz)"


def wrk_path() -> str | None:
    return shutil.which("wrk")


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()


@dataclass
class Endpoint:
    name: str
    path: str
    headers: dict[str, str]
    status: int
    target_share: float | None = None  # of the minimal view's requests/s
    rounds: list[dict] = field(default_factory=list)


def _wrk(port: int, endpoint: Endpoint, *, seconds: float, connections: int) -> dict:
    args = [
        wrk_path() or "wrk",
        "--threads",
        "1",
        "--connections",
        str(connections),
        "--duration",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "--script",
        str(WRK_SCRIPT),
    ]
    for name, value in endpoint.headers.items():
        args += ["--header", f"{name}: {value}"]
    args.append(f"http://127.0.0.1:{port}{endpoint.path}")
    out = subprocess.run(
        args, capture_output=True, text=True, timeout=seconds + 60, check=True
    ).stdout
    line = next((x for x in out.splitlines() if x.startswith("BENCH-JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    result = json.loads(line.removeprefix("BENCH-JSON "))
    errors = sum(result[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["errors"] = errors + result["status_errors"]
    return result


def _check(port: int, endpoint: Endpoint) -> None:
    status, _, body = get(port, endpoint.path, endpoint.headers)
    if status != endpoint.status:
        raise RuntimeError(
            f"{endpoint.name}: GET {endpoint.path} answered {status}, expected "
            f"{endpoint.status}: {body[:300]!r}"
        )


def dashboard_endpoints(*, slug: str, token: str, session_cookie: str, port: int) -> list:
    api = f"/api/v1/talks/{slug}/dashboard/"
    auth = {"Authorization": f"Token {token}"}
    cookie = {"Cookie": f"sessionid={session_cookie}"}
    status, headers, _ = get(port, api, auth)
    if status != 200:
        raise RuntimeError(f"GET {api} answered {status}")
    api_etag = headers["etag"]
    live = f"/talks/{slug}/live/"
    status, headers, _ = get(port, live, cookie)
    if status != 200:
        raise RuntimeError(f"GET {live} answered {status}")
    page_etag = headers["etag"]
    return [
        Endpoint(MINIMAL, "/healthz", {}, 200),
        Endpoint("dashboard JSON", api, auth, 200, target_share=0.4),
        Endpoint(
            "dashboard JSON, If-None-Match",
            api,
            {**auth, "If-None-Match": api_etag},
            304,
            target_share=0.4,
        ),
        Endpoint("dashboard page", f"/talks/{slug}/", cookie, 200),
        Endpoint(
            "dashboard page's poll, If-None-Match",
            live,
            {**cookie, "If-None-Match": page_etag},
            304,
        ),
    ]


def dashboard_figures(
    *,
    port: int,
    endpoints: list[Endpoint],
    rounds: int,
    seconds: float,
    connections: int,
    progress: Callable[[str], None],
) -> list[Figure]:
    for endpoint in endpoints:
        _check(port, endpoint)
    for r in range(rounds):
        # In turn, so that each round's figures share the machine's conditions.
        for endpoint in endpoints:
            progress(f"dashboard: round {r + 1}/{rounds}, {endpoint.name}")
            endpoint.rounds.append(_wrk(port, endpoint, seconds=seconds, connections=connections))
    minimal = endpoints[0]
    figures = []
    how = (
        f"wrk, {connections} connections, {rounds} round(s) of {seconds:.0f} s each in turn "
        "with the minimal view; requests/s and latencies are medians over the rounds"
    )
    for endpoint in endpoints:
        rps = percentile([r["rps"] for r in endpoint.rounds], 50)
        errors = sum(r["errors"] for r in endpoint.rounds)
        name = endpoint.name
        figures.append(
            Figure.single(
                "dashboard",
                f"{name}: throughput",
                "req/s",
                rps,
                note=how if endpoint is minimal else (f"{errors} errors" if errors else ""),
            )
        )
        figures.append(
            Figure(
                "dashboard",
                f"{name}: latency",
                "ms",
                median=percentile([r["p50_us"] / 1000 for r in endpoint.rounds], 50),
                p95=percentile([r["p95_us"] / 1000 for r in endpoint.rounds], 50),
                p99=percentile([r["p99_us"] / 1000 for r in endpoint.rounds], 50),
                count=sum(r["requests"] for r in endpoint.rounds),
            )
        )
        if endpoint is minimal:
            continue
        ratio = percentile(
            [a["rps"] / b["rps"] for a, b in zip(endpoint.rounds, minimal.rounds, strict=True)],
            50,
        )
        share = endpoint.target_share
        figures.append(
            Figure.single(
                "dashboard",
                f"{name}: share of the minimal view's req/s",
                "x",
                ratio,
                target=f">= {share:.2f}" if share else "",
                met=(ratio >= share) if share else None,
            )
        )
    return figures


def _time_get(port: int, path: str, headers: dict[str, str]) -> tuple[float, dict]:
    started = time.perf_counter()
    status, _, body = get(port, path, headers)
    elapsed = (time.perf_counter() - started) * 1000
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
    return elapsed, json.loads(body)


def history_figures(
    *,
    port: int,
    position_id: int,
    revisions: int,
    token: str,
    deep_page: int,
    samples: int,
    progress: Callable[[str], None],
) -> list[Figure]:
    auth = {"Authorization": f"Token {token}"}
    first = f"/api/v1/positions/{position_id}/revisions/"
    path = first
    for page in range(1, deep_page):
        if page % 50 == 0:
            progress(f"history: following the cursor, page {page}/{deep_page}")
        _, data = _time_get(port, path, auth)
        if not data.get("next"):
            raise RuntimeError(f"position {position_id} has fewer than {deep_page} pages")
        parts = urlsplit(data["next"])
        path = f"{parts.path}?{parts.query}"
    deep = path
    first_ms, deep_ms = [], []
    for i in range(samples):
        if i % 50 == 0:
            progress(f"history: sample {i + 1}/{samples}")
        elapsed, data = _time_get(port, first, auth)
        first_ms.append(elapsed)
        elapsed, data = _time_get(port, deep, auth)
        deep_ms.append(elapsed)
        if len(data["results"]) == 0:
            raise RuntimeError("the deep page came back empty")
    note = (
        f"position {position_id} with {revisions:,} revisions, 50 a page; one request at a "
        "time, a new connection each (as gunicorn's sync workers serve them)"
    )
    return [
        Figure.of("history", "first page of revisions", "ms", first_ms, note=note),
        Figure.of(
            "history",
            f"page {deep_page} of revisions (cursor)",
            "ms",
            deep_ms,
            target="p50 < 20",
            met=percentile(deep_ms, 50) < 20,
        ),
    ]
