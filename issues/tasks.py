"""Celery tasks: take ids, call a service. Retries are the only logic added here."""

import logging

from celery import shared_task
from django.db import DatabaseError

from . import services

logger = logging.getLogger(__name__)


@shared_task(
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=10,
    retry_jitter=True,
    max_retries=5,
)
def recompute_issue_gap(issue_id: int, layer: str) -> bool:
    """Bring one issue's summary on one layer up to date. Returns whether it stored one."""
    result = services.gap_summary_recompute(issue_id=issue_id, layer=layer)
    if result.still_pending:
        # Writes arrived while computing; none of them sent a task (the summary was
        # pending), so this one follows up, a little later, to take a burst in one pass.
        services.gap_recompute_send(issue_id=issue_id, layer=layer, coalesce=True)
    return result.stored


@shared_task
def sweep_stale_gap_summaries() -> int:
    """Re-send every summary whose computation is behind its requests (beat, every minute)."""
    stale = services.gap_summaries_stale()
    for issue_id, layer in stale:
        services.gap_recompute_send(issue_id=issue_id, layer=layer)
    if stale:
        logger.info("re-sent %d stale gap summaries", len(stale))
    return len(stale)
