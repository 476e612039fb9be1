"""Celery tasks: take ids, call a service. Retries are the only logic added here."""

import logging

from celery import shared_task
from django.db import DatabaseError

from . import selectors, services

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=10,
    retry_jitter=True,
    max_retries=5,
)
def recompute_issue_gap(self, issue_id: int, layer: str, after_rev: int | None = None) -> str:
    """Bring one issue's summary on one layer up to date; returns what it did."""
    # In-process tasks have no broker to wait on: they compute at once.
    may_defer = not self.request.is_eager
    return str(
        services.gap_summary_refresh(
            issue_id=issue_id, layer=layer, after_rev=after_rev, may_defer=may_defer
        )
    )


@shared_task
def sweep_stale_gap_summaries() -> int:
    """Re-send every summary whose computation is behind its requests (beat, every minute)."""
    stale = list(selectors.gap_summaries_stale().values_list("issue_id", "layer", "computed_rev"))
    for issue_id, layer, computed_rev in stale:
        services.gap_recompute_send(issue_id=issue_id, layer=layer, after_rev=computed_rev)
    if stale:
        logger.info("re-sent %d stale gap summaries", len(stale))
    return len(stale)
