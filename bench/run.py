"""`python -m bench run`: every scenario against its floor, on the real services.

The run starts its own gunicorn (2 workers) and Celery worker on loopback, against the
database, broker and cache the environment names (DATABASE_URL, CELERY_BROKER_URL,
REDIS_URL), on the data set `python -m bench generate` wrote for the seed. It prints a
table (each figure with its target and whether it is met) and writes it, with the machine
it ran on, to bench/results/<timestamp>.json and .txt. It never asserts on time.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from .generate import BENCH_USER, generate, talk_slug
from .machine import describe, machine
from .processes import (
    Managed,
    ProcessGroup,
    celery_worker,
    children_of,
    gunicorn,
    http_ok,
    peak_rss_mib,
)
from .stats import Figure, table

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SCENARIOS = ("engine", "queries", "freshness", "coalescing", "dashboard", "history", "memory")
NEEDS_WORKER = {"freshness", "coalescing", "memory"}
NEEDS_WEB = {"dashboard", "history", "memory"}
TOKEN_NAME = "bench run"  # noqa: S105 (a token's name, not a secret)
# The small talk of the query-count scenario: its own seed, so it never mixes with the data set.
SMALL_SEED_OFFSET = 100_000


class NotReady(RuntimeError):
    """The run cannot start: a service or the data set is missing (the message says which)."""


def child_environment(*, broker_url: str) -> dict[str, str]:
    """The environment of the processes the run starts: production settings on loopback.

    Plain HTTP (no HTTPS redirect), no throttling of the load generator, DEBUG off, the
    no-op task's results on the broker's Redis.
    """
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "false",
            "HTTPS": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "STATIC_MANIFEST": "false",
            "API_THROTTLE_USER": "1000000/s",
            "API_THROTTLE_ANON": "1000000/s",
            "BENCH_RESULT_BACKEND": broker_url,
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Run:
    def __init__(
        self,
        *,
        quick: bool,
        seed: int,
        port: int,
        only: Sequence[str],
        results_dir: Path,
        out: TextIO,
    ) -> None:
        self.quick = quick
        self.seed = seed
        self.port = port
        self.selected = [s for s in SCENARIOS if not only or s in only]
        self.results_dir = results_dir
        self.out = out
        self.figures: list[Figure] = []
        self.failed: list[str] = []
        self.stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        self.log_dir = results_dir / "logs" / self.stamp
        self.processes = ProcessGroup()
        self.web: Managed | None = None
        self.worker: Managed | None = None
        self.worker_name = f"bench-{os.getpid()}@{socket.gethostname()}"
        self.bar: tqdm | None = None
        self.token = ""
        self.token_key = ""
        self.user = None

    # --- progress ---------------------------------------------------------------------------

    def progress(self, message: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(message, refresh=True)

    # --- preconditions ----------------------------------------------------------------------

    def _check_services(self) -> None:
        from django.db import connection

        needs_services = set(self.selected) - {"engine"}
        if not needs_services:
            return
        if connection.vendor != "postgresql":
            raise NotReady("set DATABASE_URL to the PostgreSQL database of the data set")
        broker = os.environ.get("CELERY_BROKER_URL", "")
        if not broker.startswith("redis"):
            raise NotReady("set CELERY_BROKER_URL to a Redis database (e.g. redis://host:6379/5)")
        if not os.environ.get("REDIS_URL"):
            raise NotReady("set REDIS_URL to a Redis database for the cache")
        if needs_services & NEEDS_WEB and not _port_free(self.port):
            raise NotReady(f"port {self.port} is taken; choose another with --port")
        if "dashboard" in self.selected:
            from .scenarios.http import wrk_path

            if wrk_path() is None:
                raise NotReady("the dashboard scenario needs wrk (Debian: apt-get install wrk)")
        from talks.models import Talk

        last = talk_slug(self.seed, self._freshness_talks()[-1])
        if not Talk.objects.filter(slug=last).exists():
            raise NotReady(
                f"no talk {last}: generate the data set first, e.g. python -m bench generate "
                f"--talks 250 --issues 20 --parties 8 --revisions 1000000 --seed {self.seed}"
            )

    def _freshness_count(self) -> int:
        return 40 if self.quick else 200

    def _freshness_talks(self) -> list[int]:
        # From talk 10 on, 20 issues each: away from the talks the other scenarios use.
        return list(range(10, 10 + -(-self._freshness_count() // 20)))

    # --- the bench user's API token ---------------------------------------------------------

    def _token(self) -> None:
        from django.contrib.auth import get_user_model

        from api.models import TokenSettings
        from api.services import api_token_create, api_token_revoke

        self.user = get_user_model().objects.get(username=BENCH_USER)
        for left in TokenSettings.objects.filter(token__user=self.user, name=TOKEN_NAME):
            api_token_revoke(user=self.user, token_key=left.token.token_key)
        token, self.token = api_token_create(
            user=self.user, name=TOKEN_NAME, read_only=True, days=1
        )
        self.token_key = token.token_key

    def _revoke_token(self) -> None:
        if not self.token_key:
            return
        from api.services import api_token_revoke

        try:
            api_token_revoke(user=self.user, token_key=self.token_key)
        except Exception:
            print(f"could not revoke the bench token {self.token_key}", file=sys.stderr)

    # --- processes --------------------------------------------------------------------------

    def _start_processes(self) -> None:
        broker = os.environ["CELERY_BROKER_URL"]
        env = child_environment(broker_url=broker)
        if set(self.selected) & NEEDS_WORKER:
            from .worker import app

            app.control.purge()
            self.progress("starting the Celery worker")
            self.worker = self.processes.add(
                celery_worker(env=env, log_dir=self.log_dir, hostname=self.worker_name)
            )

            def pong() -> bool:
                replies = app.control.ping(destination=[self.worker_name], timeout=0.5)
                return any(self.worker_name in r for r in replies)

            self.worker.start(pong)
        if set(self.selected) & NEEDS_WEB:
            self.progress("starting gunicorn")
            self.web = self.processes.add(
                gunicorn(port=self.port, env=env, log_dir=self.log_dir, workers=2)
            )
            self.web.start(lambda: http_ok(self.port))

    # --- scenarios --------------------------------------------------------------------------

    def scenario_engine(self) -> list[Figure]:
        from django.db import connection

        from .scenarios.engine import engine_figures, talk_recompute_figures

        figures = engine_figures(quick=self.quick, progress=self.progress)
        if connection.vendor == "postgresql":
            figures += talk_recompute_figures(
                talk_slug=talk_slug(self.seed, 0), quick=self.quick, progress=self.progress
            )
        return figures

    def scenario_queries(self) -> list[Figure]:
        from .scenarios.queries import query_figures

        small_seed = self.seed + SMALL_SEED_OFFSET
        generate(talks=1, issues=2, parties=2, revisions=16, seed=small_seed, out=io.StringIO())
        return query_figures(
            small=(talk_slug(small_seed, 0), "2 issues x 2 parties"),
            large=(talk_slug(self.seed, 0), "20 issues x 8 parties"),
            user=self.user,
            token=self.token,
            progress=self.progress,
        )

    def scenario_freshness(self) -> list[Figure]:
        from .scenarios.pipeline import freshness_figures, freshness_targets

        targets = freshness_targets(
            talk_slugs=[talk_slug(self.seed, t) for t in self._freshness_talks()],
            count=self._freshness_count(),
        )
        return freshness_figures(targets=targets, user=self.user, progress=self.progress)

    def scenario_coalescing(self) -> list[Figure]:
        from issues.models import Issue, Layer

        from .scenarios.pipeline import coalescing_figures

        issue = Issue.objects.filter(talk__slug=talk_slug(self.seed, 1)).order_by("order").first()
        if issue is None:
            raise NotReady(f"no issue in {talk_slug(self.seed, 1)}")
        return coalescing_figures(
            issue_id=issue.pk,
            layer=Layer.DECLARED,
            updates=300 if self.quick else 1000,
            writers=4,
            user=self.user,
            progress=self.progress,
        )

    def _session_cookie(self) -> str:
        from django.conf import settings
        from django.test import Client

        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(self.user)
        return client.cookies[settings.SESSION_COOKIE_NAME].value

    def scenario_dashboard(self) -> list[Figure]:
        from .scenarios.http import dashboard_endpoints, dashboard_figures

        endpoints = dashboard_endpoints(
            slug=talk_slug(self.seed, 0),
            token=self.token,
            session_cookie=self._session_cookie(),
            port=self.port,
        )
        return dashboard_figures(
            port=self.port,
            endpoints=endpoints,
            rounds=1 if self.quick else 3,
            seconds=2 if self.quick else 5,
            connections=4,
            progress=self.progress,
        )

    def scenario_history(self) -> list[Figure]:
        from positions.models import Position

        from .scenarios.http import history_figures

        hot = (
            Position.objects.filter(issue__talk__slug=talk_slug(self.seed, 0))
            .order_by("-version")
            .first()
        )
        deep = 200
        if hot is None or hot.version < deep * 50:
            raise NotReady(
                f"the history scenario needs a position with {deep * 50:,} revisions in "
                f"{talk_slug(self.seed, 0)} (generate with --revisions 1000000)"
            )
        from positions.models import PositionRevision

        figures = history_figures(
            port=self.port,
            position_id=hot.pk,
            revisions=hot.version,
            token=self.token,
            deep_page=deep,
            samples=50 if self.quick else 200,
            progress=self.progress,
        )
        total = PositionRevision.objects.count()
        return [*figures, Figure.single("history", "revisions in the table", "rows", total)]

    def scenario_memory(self) -> list[Figure]:
        figures = []
        if self.web is not None and self.web.running:
            workers = [peak_rss_mib(pid) or 0 for pid in children_of(self.web.pid)]
            figures.append(
                Figure.single(
                    "memory",
                    f"gunicorn web worker, peak RSS (largest of {len(workers)})",
                    "MiB",
                    max(workers) if workers else None,
                    note="VmHWM at the end of the run: the peak over every scenario before it",
                )
            )
        if self.worker is not None and self.worker.running:
            pool = [peak_rss_mib(pid) or 0 for pid in children_of(self.worker.pid)]
            figures.append(
                Figure.single(
                    "memory",
                    f"Celery pool process, peak RSS (largest of {len(pool)})",
                    "MiB",
                    max(pool) if pool else None,
                )
            )
            figures.append(
                Figure.single(
                    "memory",
                    "Celery worker main process, peak RSS",
                    "MiB",
                    peak_rss_mib(self.worker.pid),
                )
            )
        return figures

    # --- the run ----------------------------------------------------------------------------

    def execute(self) -> int:
        from django.db import connection

        started = time.monotonic()
        info = machine()
        print(f"Machine: {describe(info)}", file=self.out)
        print(
            f"Scenarios: {', '.join(self.selected)}{' (quick)' if self.quick else ''}; "
            f"data set seed {self.seed}",
            file=self.out,
        )
        self._check_services()
        os.environ.setdefault("BENCH_RESULT_BACKEND", os.environ.get("CELERY_BROKER_URL", ""))
        if connection.vendor == "postgresql" and set(self.selected) - {"engine"}:
            self._token()
        elif connection.vendor == "postgresql":
            from django.contrib.auth import get_user_model

            self.user = get_user_model().objects.filter(username=BENCH_USER).first()
        with self.processes.running():
            self.bar = tqdm(
                total=len(self.selected), desc="bench", unit="scenario", file=sys.stderr
            )
            try:
                for name in self.selected:
                    if name in ("freshness", "coalescing", "dashboard", "history", "memory") and (
                        self.web is None and self.worker is None
                    ):
                        self._start_processes()
                    self.bar.set_description(name)
                    self._scenario(name)
                    self.bar.update(1)
            finally:
                self.bar.close()
                self.bar = None
                self._revoke_token()
        return self._report(info, time.monotonic() - started)

    def _scenario(self, name: str) -> None:
        method: Callable[[], list[Figure]] = getattr(self, f"scenario_{name}")
        try:
            self.figures += method()
        except NotReady as exc:
            self.failed.append(name)
            self.figures.append(Figure.single(name, "not run", "", None, note=str(exc)))
        except Exception as exc:
            self.failed.append(name)
            detail = "".join(traceback.format_exception_only(exc)).strip()
            self.figures.append(Figure.single(name, "failed", "", None, note=detail))
            traceback.print_exc(file=sys.stderr)
            for managed in (self.web, self.worker):
                if managed is not None and not managed.running:
                    print(managed.log_tail(), file=sys.stderr)

    def _report(self, info: dict[str, Any], seconds: float) -> int:
        text = table(self.figures)
        header = (
            f"Redline benchmark {self.stamp}{' (quick)' if self.quick else ''}, "
            f"{seconds:.0f} s\nMachine: {describe(info)}\n"
        )
        print("", file=self.out)
        print(text, file=self.out)
        self.results_dir.mkdir(parents=True, exist_ok=True)
        base = self.results_dir / self.stamp
        payload = {
            "started": self.stamp,
            "seconds": round(seconds, 1),
            "quick": self.quick,
            "seed": self.seed,
            "scenarios": self.selected,
            "failed": self.failed,
            "machine": info,
            "figures": [f.as_json() for f in self.figures],
        }
        base.with_suffix(".json").write_text(json.dumps(payload, indent=2) + "\n")
        base.with_suffix(".txt").write_text(header + "\n" + text + "\n")
        print(f"\nWritten: {base}.json and .txt", file=self.out)
        met = [f.met for f in self.figures if f.met is not None]
        print(
            f"Targets met: {sum(met)} of {len(met)}"
            + (f"; scenarios not run or failed: {', '.join(self.failed)}" if self.failed else ""),
            file=self.out,
        )
        return 1 if self.failed else 0


def run(
    *,
    quick: bool,
    seed: int,
    port: int,
    only: Sequence[str],
    results_dir: Path | None = None,
    out: TextIO = sys.stdout,
) -> int:
    unknown = sorted(set(only) - set(SCENARIOS))
    if unknown:
        print(
            f"Unknown scenario(s): {', '.join(unknown)}. Choose from: {', '.join(SCENARIOS)}.",
            file=sys.stderr,
        )
        return 2
    bench = Run(
        quick=quick,
        seed=seed,
        port=port,
        only=only,
        results_dir=results_dir or RESULTS_DIR,
        out=out,
    )
    try:
        return bench.execute()
    except NotReady as exc:
        print(f"Cannot run: {exc}", file=sys.stderr)
        return 2
