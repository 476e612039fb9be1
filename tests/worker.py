"""A real Celery worker for the tests that need one (`@pytest.mark.worker`).

`real_worker` starts `celery -A config worker` as a subprocess on the broker in
CELERY_BROKER_URL and on pytest-django's *test* database, so tasks sent by the test (or by
a `live_server` thread) are executed by a separate process, exactly as in production. It
requires `transactional_db`: the worker can only see what the test has committed.

The process is started once per session and reused; every test starts from an empty queue
(stale messages purged, nothing held by the worker). Tests that stop or kill it get it back
running for the next test.

    @pytest.mark.worker
    def test_something(real_worker):
        ...  # commit writes through the services
        summaries = real_worker.wait_until_fresh(issue)

What the object offers:

- `wait_until_fresh(*issues_talks_or_summaries, timeout=)`: poll until computed_rev ==
  requested_rev and not pending; returns the summaries. `wait_for(predicate)`,
  `wait_idle()`: bounded polls.
- `stop()` (warm), `kill()` (SIGKILL of the whole process group), `start(beat=False,
  sweep_seconds=1.0)` (beat inside the worker sweeps stale summaries that often),
  `restart()`, `running`, `pid`, `pool_pids()`, `active_tasks()`.
- `broker_unreachable()`: a context in which this process sends to a closed port (the
  worker keeps its broker); `queued()`, `unacked()`, `purge()`.
- `side_connection()`: a second psycopg connection to the test database, e.g. to hold a
  lock a task will wait for; `waiting_on_locks()`: other sessions' queries waiting for one.
- `log_tail()`, `log_size()` / `log_since(size)`: the worker's log.

Skips (with the reason) when the database is not PostgreSQL or Redis does not answer;
under REDLINE_REQUIRE_ALL=1 the skip fails the run.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")

# Generous bounds: the machine is shared and slow at times; a healthy run needs far less.
START_TIMEOUT = 60.0
FRESH_TIMEOUT = 60.0
IDLE_TIMEOUT = 15.0
# A port in this checkout's range that nothing listens on, to play an unreachable broker.
CLOSED_PORT = int(os.environ.get("REDLINE_CLOSED_PORT", "8199"))


class WorkerTimeout(AssertionError):
    """A bounded wait ran out; the message carries what was observed and the worker's log."""


def _test_database_url(settings_dict: dict[str, Any]) -> str:
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    name = quote(settings_dict["NAME"], safe="")
    return f"postgres://{credentials}{host}:{port}/{name}"


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2).ping())
    except (redis.RedisError, OSError):
        return False


def _port_is_closed(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except OSError:
        return True


def _reset_producer_connections(app) -> None:
    """Forget the app's pooled broker connections, so the next send uses `broker_url` anew."""
    from kombu import pools

    pool = app._pool
    if pool is not None:
        with contextlib.suppress(Exception):
            pool.force_close_all()
    # The app's pool lives in kombu's process-wide pool groups, keyed by the connection: a
    # closed pool left there would be handed out again for the same broker URL, and every
    # later send (eager ones too: they borrow a producer) would fail with "Acquire on
    # closed pool".
    pools.reset()
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


class RealWorker:
    """One `celery worker` subprocess, with the controls the tests need."""

    def __init__(self, *, app, database_url: str, broker_url: str, log_dir: Path) -> None:
        self.app = app
        self.database_url = database_url
        self.broker_url = broker_url
        self.queue: str = app.conf.task_default_queue
        self.name = f"redline-tests-{os.getpid()}@{socket.gethostname()}"
        self.log_path = log_dir / "worker.log"
        self.beat_schedule = log_dir / "beat-schedule"
        self.process: subprocess.Popen[bytes] | None = None
        self.concurrency = 2
        self.beat = False
        self._log = None

    # --- Life cycle -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.running else None

    def start(self, *, beat: bool = False, sweep_seconds: float = 1.0) -> None:
        """Start the worker and wait until it answers a ping.

        `beat=True` also runs Celery beat inside it, sweeping stale summaries every
        `sweep_seconds` (production sweeps every minute).
        """
        if self.running:
            raise RuntimeError("the worker is already running; stop or kill it first")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": self.database_url,
            "CELERY_BROKER_URL": self.broker_url,
            "CELERY_QUEUE": self.queue,
            "PYTHONUNBUFFERED": "1",
        }
        args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            str(self.concurrency),
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--hostname",
            self.name,
            "--loglevel",
            "INFO",
        ]
        if beat:
            env["GAP_SWEEP_SECONDS"] = str(sweep_seconds)
            self.beat_schedule.unlink(missing_ok=True)
            args += ["--beat", "--schedule", str(self.beat_schedule)]
        self._log = self.log_path.open("ab")
        self._log.write(f"\n===== start (beat={beat}) at {time.time():.3f} =====\n".encode())
        self._log.flush()
        self.beat = beat
        self.process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # Its own process group: a kill reaches the pool's children (and beat) too.
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise WorkerTimeout(
                    f"the worker exited with {self.process.returncode}\n{self.log_tail()}"
                )
            if self.ping():
                return
        self.kill()
        raise WorkerTimeout(
            f"the worker did not answer a ping in {START_TIMEOUT:.0f}s\n{self.log_tail()}"
        )

    def stop(self, timeout: float = 30.0) -> None:
        """Warm shutdown (SIGTERM): running tasks finish, held messages go back to the queue."""
        if not self.running:
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self._close_log()

    def kill(self) -> None:
        """SIGKILL the worker's whole process group: no cleanup, no acknowledgement."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self._close_log()

    def restart(self, **start_options: Any) -> None:
        self.stop()
        self.start(**start_options)

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    # --- Observation ----------------------------------------------------------------------

    def ping(self, timeout: float = 0.5) -> bool:
        try:
            replies = self.app.control.ping(destination=[self.name], timeout=timeout)
        except Exception:
            return False
        return any(self.name in reply for reply in replies)

    def _inspect(self, method: str) -> list[dict[str, Any]] | dict[str, Any] | None:
        inspector = self.app.control.inspect(destination=[self.name], timeout=2.0, limit=1)
        replies = getattr(inspector, method)() or {}
        return replies.get(self.name)

    def active_tasks(self) -> list[dict[str, Any]]:
        """Tasks the worker is executing now (each with its `worker_pid`)."""
        return list(self._inspect("active") or [])

    def pool_pids(self) -> list[int]:
        stats = self._inspect("stats") or {}
        return list(stats.get("pool", {}).get("processes", []))

    def queued(self) -> int:
        return int(self._redis().llen(self.queue))

    def unacked(self) -> list[dict[str, Any]]:
        """Messages of this queue delivered to a worker and not acknowledged yet."""
        held = []
        for raw in self._redis().hvals("unacked"):
            message, _exchange, routing_key = json.loads(raw)
            if routing_key == self.queue:
                held.append(message)
        return held

    def is_idle(self) -> bool:
        if self.queued():
            return False
        if not self.running:
            return True
        for method in ("active", "reserved", "scheduled"):
            reply = self._inspect(method)
            if reply is None or reply:
                return False
        return True

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, size: int) -> str:
        """What the worker logged after the log had `size` bytes (see `log_size`)."""
        with self.log_path.open("rb") as log:
            log.seek(size)
            return log.read().decode(errors="replace")

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return "(no worker log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return "worker log (last lines):\n" + "\n".join(text[-lines:])

    # --- Waiting --------------------------------------------------------------------------

    def wait_for(
        self,
        predicate: Callable[[], T],
        *,
        timeout: float = FRESH_TIMEOUT,
        interval: float = 0.02,
        what: str = "the condition",
    ) -> T:
        """Poll `predicate` until it returns something truthy; return that, or fail."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise WorkerTimeout(f"waited {timeout:.0f}s for {what}\n{self.log_tail()}")
            time.sleep(interval)

    def wait_idle(self, timeout: float = IDLE_TIMEOUT) -> bool:
        """Wait until nothing is queued, running, reserved or scheduled. False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.is_idle():
                return True
            time.sleep(0.05)
        return False

    def wait_until_fresh(
        self, *targets: Any, timeout: float = FRESH_TIMEOUT, interval: float = 0.02
    ) -> list[Any]:
        """Wait until every summary of the targets is fresh; return them, freshly read.

        Targets are issues, talks or gap summaries (none: every summary in the database).
        Fresh means `computed_rev == requested_rev` and not `pending`.
        """
        from django.db.models import Q

        from issues.models import GapSummary, Issue
        from talks.models import Talk

        condition = Q()
        for target in targets:
            if isinstance(target, Issue):
                condition |= Q(issue_id=target.pk)
            elif isinstance(target, Talk):
                condition |= Q(issue__talk_id=target.pk)
            elif isinstance(target, GapSummary):
                condition |= Q(pk=target.pk)
            else:
                raise TypeError(f"cannot wait for {target!r}")
        summaries = GapSummary.objects.filter(condition).order_by("issue_id", "layer")

        def fresh() -> list[GapSummary] | None:
            rows = list(summaries.all())  # a new query each time, not the cached rows
            if rows and all(s.computed_rev == s.requested_rev and not s.pending for s in rows):
                return rows
            return None

        try:
            return self.wait_for(
                fresh, timeout=timeout, interval=interval, what="fresh gap summaries"
            )
        except WorkerTimeout as exc:
            state = "\n".join(
                f"  issue {s.issue_id} {s.layer}: requested {s.requested_rev} computed "
                f"{s.computed_rev} pending {s.pending}"
                for s in summaries.all()
            )
            raise WorkerTimeout(f"{exc}\nsummaries:\n{state}") from None

    # --- Database -------------------------------------------------------------------------

    @contextlib.contextmanager
    def side_connection(self) -> Iterator[Any]:
        """A second connection to the test database (psycopg, in a transaction), e.g. to hold
        a lock that makes a task wait where the test wants it; rolled back and closed after."""
        import psycopg
        from django.db import connection

        params = connection.settings_dict
        conn = psycopg.connect(
            dbname=params["NAME"],
            user=params.get("USER") or None,
            password=params.get("PASSWORD") or None,
            host=params.get("HOST") or "127.0.0.1",
            port=params.get("PORT") or 5432,
            connect_timeout=5,
        )
        try:
            yield conn
        finally:
            conn.rollback()
            conn.close()

    def waiting_on_locks(self) -> list[str]:
        """The queries of other sessions on the test database that wait for a lock."""
        from django.db import connection

        with connection.cursor() as cursor:
            # Inside a transaction the activity view is a snapshot: take a new one.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
            )
            return [row[0] for row in cursor.fetchall()]

    # --- Broker -----------------------------------------------------------------------------

    def _redis(self):
        import redis

        return redis.Redis.from_url(self.broker_url, socket_connect_timeout=2, socket_timeout=5)

    def purge(self) -> None:
        """Drop every message of this queue: waiting, and delivered but never acknowledged."""
        client = self._redis()
        client.delete(self.queue)
        for tag, raw in client.hgetall("unacked").items():
            _message, _exchange, routing_key = json.loads(raw)
            if routing_key == self.queue:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)

    @contextlib.contextmanager
    def broker_unreachable(self, port: int = CLOSED_PORT) -> Iterator[str]:
        """Point this process's Celery app at a closed port; the worker keeps its broker."""
        if not _port_is_closed(port):
            pytest.fail(f"port {port} is open; set REDLINE_CLOSED_PORT to a closed port")
        url = f"redis://127.0.0.1:{port}/0"
        # Sends use the write URL; CELERY_BROKER_URL in the environment would override
        # `broker_url` itself.
        previous = self.app.conf.get("broker_write_url")
        _reset_producer_connections(self.app)
        self.app.conf.broker_write_url = url
        try:
            yield url
        finally:
            _reset_producer_connections(self.app)
            self.app.conf.broker_write_url = previous


@pytest.fixture(scope="session")
def _real_worker_process(django_db_setup, django_db_blocker, tmp_path_factory):
    from django.conf import settings
    from django.db import connection

    from config.celery import app

    if connection.vendor != "postgresql":
        pytest.skip("the real worker needs PostgreSQL: DATABASE_URL is not a postgres:// URL")
    broker = settings.CELERY_BROKER_URL
    if not broker.startswith("redis"):
        pytest.skip("the real worker needs Redis: CELERY_BROKER_URL is not a redis:// URL")
    if not _redis_answers(broker):
        pytest.skip(f"the real worker needs Redis: {broker} does not answer")
    worker = RealWorker(
        app=app,
        database_url=_test_database_url(connection.settings_dict),
        broker_url=broker,
        log_dir=tmp_path_factory.mktemp("celery-worker"),
    )
    yield worker
    # Stopped before the test database is torn down: no connection is left open on it.
    worker.kill()


@pytest.fixture
def real_worker(_real_worker_process, transactional_db, request):
    """A running Celery worker on the test database and an empty queue; see the module."""
    if not request.node.get_closest_marker("worker"):
        pytest.fail("tests using real_worker must carry @pytest.mark.worker")
    worker: RealWorker = _real_worker_process
    app = worker.app
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    if worker.beat:
        worker.stop()  # a previous test's beat would sweep behind this test's back
    worker.purge()
    if not worker.running:
        worker.start()
    yield worker
    # Leave nothing behind for the next test: a worker still busy is killed, not waited on.
    if worker.running and not worker.wait_idle():
        worker.kill()
    if worker.running and worker.process is not None and not worker.ping():
        worker.kill()
    worker.purge()
    app.conf.task_always_eager = eager
