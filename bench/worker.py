"""The Celery app the benchmark's worker runs: Redline's own, plus a no-op task.

`celery -A bench.worker worker` runs every Redline task exactly as `-A config` does, and
also `bench.noop`, whose round trip (send, run, result back over the same Redis) is the
floor the freshness figure is compared with. Its result goes to BENCH_RESULT_BACKEND, set
only in the processes the benchmark starts; Redline's own tasks keep ignoring results.
"""

import os

from config.celery import app

app.conf.result_backend = os.environ.get("BENCH_RESULT_BACKEND") or None
app.conf.result_expires = 600


@app.task(name="bench.noop", ignore_result=False)
def noop() -> None:
    """Nothing: a Celery round trip with no work in it."""


__all__ = ["app", "noop"]
