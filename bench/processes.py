"""The processes a benchmark run starts (gunicorn, a Celery worker), and their cleanup.

Each runs in its own process group, with its output in a log file. Whatever happens to the
run (an error, Ctrl-C, SIGTERM), `ProcessGroup.stop_all` stops every one of them: SIGTERM
first, then SIGKILL to the whole group.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

START_TIMEOUT = 90.0
STOP_TIMEOUT = 20.0


class StartFailed(RuntimeError):
    pass


def children_of(pid: int) -> list[int]:
    """Direct children of a process (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the fields follow the last ")".
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def peak_rss_mib(pid: int) -> float | None:
    """The process's peak resident set size so far (VmHWM), in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Managed:
    """One started process (group) with a name, a log and a readiness check."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._log = None

    @property
    def pid(self) -> int:
        assert self.process is not None  # noqa: S101 (started before use)
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, ready: Callable[[], bool], timeout: float = START_TIMEOUT) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.args,
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise StartFailed(
                    f"{self.name} exited with {self.process.returncode}\n{self.log_tail()}"
                )
            with contextlib.suppress(Exception):
                if ready():
                    return
            time.sleep(0.2)
        raise StartFailed(f"{self.name} was not ready after {timeout:.0f}s\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=STOP_TIMEOUT)
        # Whatever is left of the group (pool children, gunicorn workers): killed.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_TIMEOUT)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return f"(no log at {self.log_path})"
        text = self.log_path.read_text(errors="replace").splitlines()
        return f"{self.name} log ({self.log_path}), last lines:\n" + "\n".join(text[-lines:])


class ProcessGroup:
    """Every process a run started; stopped together, also on Ctrl-C or SIGTERM."""

    def __init__(self) -> None:
        self.started: list[Managed] = []

    def add(self, managed: Managed) -> Managed:
        self.started.append(managed)
        return managed

    def stop_all(self) -> None:
        while self.started:
            self.started.pop().stop()

    @contextlib.contextmanager
    def running(self) -> Iterator[ProcessGroup]:
        previous = signal.getsignal(signal.SIGTERM)

        def _terminate(signum, frame):
            raise KeyboardInterrupt(f"signal {signum}")

        signal.signal(signal.SIGTERM, _terminate)
        try:
            yield self
        finally:
            # Ctrl-C again while stopping must not leave processes behind.
            with _sigint_ignored():
                self.stop_all()
            signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def http_ok(port: int, path: str = "/healthz") -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    finally:
        conn.close()


def gunicorn(*, port: int, env: dict[str, str], log_dir: Path, workers: int = 2) -> Managed:
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--backlog",
        "512",
        "--log-level",
        "warning",
    ]
    return Managed("gunicorn", args, env, log_dir / "gunicorn.log")


def celery_worker(*, env: dict[str, str], log_dir: Path, hostname: str) -> Managed:
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "bench.worker",
        "worker",
        "--pool",
        "prefork",
        "--concurrency",
        "2",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "--hostname",
        hostname,
        "--loglevel",
        "INFO",
    ]
    return Managed("celery worker", args, env, log_dir / "celery.log")
