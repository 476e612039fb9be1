"""What the benchmark ran on: CPU, memory, kernel, versions and the code's commit."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GIT = shutil.which("git") or "git"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            [GIT, *args], cwd=ROOT, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _postgres_version() -> str:
    from django.db import connection

    if connection.vendor != "postgresql":
        return f"not used ({connection.vendor})"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]


def _redis_version(url: str | None) -> str:
    if not url:
        return "not used"
    import redis

    try:
        info = redis.Redis.from_url(url, socket_connect_timeout=2).info("server")
    except (redis.RedisError, OSError) as exc:
        return f"unreachable ({exc.__class__.__name__})"
    return str(info.get("redis_version", "unknown"))


def machine() -> dict[str, Any]:
    import django

    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": _ram_gib(),
        "kernel": platform.release(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "postgresql": _postgres_version(),
        "redis": _redis_version(os.environ.get("CELERY_BROKER_URL")),
        "commit": _git("rev-parse", "HEAD") + (" (uncommitted changes)" if dirty else ""),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def describe(info: dict[str, Any]) -> str:
    return (
        f"{info['cpu']}, {info['cores']} cores, {info['ram_gib']} GiB RAM, Linux "
        f"{info['kernel']}; Python {info['python']}, Django {info['django']}, PostgreSQL "
        f"{info['postgresql']}, Redis {info['redis']}; commit {info['commit'][:12]}; "
        f"load average at start {info['load_average_at_start']}"
    )
