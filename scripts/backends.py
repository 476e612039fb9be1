"""Decide which back-ends the test suite runs against, using nothing but the standard library.

Prints one line describing them, and writes shell `export` lines to the file given as the
first argument. Explicit DATABASE_URL / CELERY_BROKER_URL / REDIS_URL win; otherwise
PostgreSQL and Redis on their default local ports are used when they answer.
"""

import os
import socket
import sys
from urllib.parse import urlsplit

PG_DEFAULT = "postgres://postgres@127.0.0.1:5432/redline"
BROKER_DEFAULT = "redis://127.0.0.1:6379/0"
CACHE_DEFAULT = "redis://127.0.0.1:6379/1"


def reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    try:
        with socket.create_connection((host, parts.port or default_port), timeout=1.0):
            return True
    except OSError:
        return False


def main() -> int:
    out = sys.argv[1]
    env: dict[str, str] = {}
    # REDLINE_EMBEDDED=1: the newcomer's default whatever runs locally (SQLite, in-process).
    probe = os.environ.get("REDLINE_EMBEDDED") != "1"
    db = os.environ.get("DATABASE_URL", "")
    if not db and probe and reachable(PG_DEFAULT, 5432):
        db = PG_DEFAULT
    if db.startswith("postgres") and not reachable(db, 5432):
        print(f"warning: DATABASE_URL {db} does not answer", file=sys.stderr)
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker and probe and reachable(BROKER_DEFAULT, 6379):
        broker = BROKER_DEFAULT
    cache = os.environ.get("REDIS_URL", "")
    if not cache and broker.startswith("redis") and reachable(CACHE_DEFAULT, 6379):
        cache = CACHE_DEFAULT
    if db:
        env["DATABASE_URL"] = db
    if broker:
        env["CELERY_BROKER_URL"] = broker
    if cache:
        env["REDIS_URL"] = cache

    database = "PostgreSQL" if db.startswith("postgres") else "SQLite"
    tasks = "Redis + real Celery worker" if broker.startswith("redis") else "in-process tasks"
    cache_name = "Redis cache" if cache else "local-memory cache"
    print(f"Back-ends: {database} + {tasks} + {cache_name}", flush=True)
    with open(out, "w") as fh:
        for key, value in env.items():
            fh.write(f"export {key}='{value}'\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
