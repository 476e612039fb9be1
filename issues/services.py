"""Writes of issues and gap summaries.

Recomputation contract (DESIGN.md "Recomputation"): a position write calls
`gap_summary_request` inside its transaction, which bumps `requested_rev` and sets
`pending`; only the write that turns `pending` from false to true schedules a task, after
commit. The task (`gap_summary_recompute`) reads the current positions, computes, and
stores the result only where its revision is newer than the stored one, so duplicate, late
or reordered deliveries are harmless.
"""

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from audit.services import audit_record_created
from talks.models import Talk
from talks.services import talk_touch

from . import gaps, selectors
from .models import GapSummary, GapSummaryHistory, Issue, IssueOption, Layer, ScaleKind

logger = logging.getLogger(__name__)


OPTION_INVALID = "Option {number}, {field}: {message}"
OPTION_KEYS_REPEAT = "Each option needs its own key."


@dataclass(frozen=True)
class OptionInput:
    key: str
    label: str
    description: str = ""


@transaction.atomic
def issue_create(
    *,
    talk: Talk,
    key: str,
    title: str,
    scale_kind: str,
    description: str = "",
    priority: int = 3,
    order: int = 0,
    scale_min: float | None = None,
    scale_max: float | None = None,
    unit: str = "",
    max_label: str = "",
    options: Sequence[OptionInput] = (),
) -> Issue:
    issue = Issue(
        talk=talk,
        key=key,
        title=title,
        description=description,
        priority=priority,
        order=order,
        scale_kind=scale_kind,
        scale_min=scale_min if scale_kind == ScaleKind.NUMERIC else None,
        scale_max=scale_max if scale_kind == ScaleKind.NUMERIC else None,
        unit=unit,
        max_label=max_label,
    )
    issue.full_clean()
    rows = [
        IssueOption(issue=issue, key=o.key, label=o.label, description=o.description, order=i)
        for i, o in enumerate(options)
    ]
    option_errors = []
    for number, row in enumerate(rows, start=1):
        try:
            row.clean_fields(exclude=["issue"])
        except ValidationError as exc:
            option_errors += [
                OPTION_INVALID.format(number=number, field=field, message=message)
                for field, messages in exc.message_dict.items()
                for message in messages
            ]
    if len({row.key for row in rows}) < len(rows):
        option_errors.append(OPTION_KEYS_REPEAT)
    if option_errors:
        raise ValidationError({"options": option_errors})
    issue.save()
    created = IssueOption.objects.bulk_create(rows)
    # bulk_create sends no model signals: the options' creation is recorded here.
    audit_record_created(instances=created)
    gap_summaries_ensure(issues=[issue])
    return issue


def gap_summaries_ensure(*, issues: Iterable[Issue]) -> None:
    """Every issue has a summary row per layer, so a write only ever updates one."""
    GapSummary.objects.bulk_create(
        [GapSummary(issue=issue, layer=layer) for issue in issues for layer in Layer.values],
        ignore_conflicts=True,
    )


def gap_summary_request(*, issue_id: int, layer: str) -> None:
    """Mark the summary stale inside the caller's transaction; schedule one recomputation.

    The conditional UPDATE takes the row lock, so of two concurrent writers exactly one sees
    `pending` go from false to true, and only that one sends a task.
    """
    now = timezone.now()
    became_pending = GapSummary.objects.filter(
        issue_id=issue_id, layer=layer, pending=False
    ).update(requested_rev=F("requested_rev") + 1, pending=True, requested_at=now)
    if not became_pending:
        updated = GapSummary.objects.filter(issue_id=issue_id, layer=layer).update(
            requested_rev=F("requested_rev") + 1
        )
        if updated:
            return
        # No summary row yet (an issue created outside issue_create): make one, pending.
        GapSummary.objects.create(
            issue_id=issue_id, layer=layer, requested_rev=1, pending=True, requested_at=now
        )
    transaction.on_commit(partial(gap_recompute_send, issue_id=issue_id, layer=layer), robust=True)


def gap_recompute_send(*, issue_id: int, layer: str, coalesce: bool = False) -> bool:
    """Send the recomputation task; never fail the caller if the broker is down.

    The write has committed already; the periodic sweep re-sends what could not be sent.
    `coalesce` delays the task a little so that a burst of writes costs one computation.
    """
    from .tasks import recompute_issue_gap

    countdown = settings.GAP_RECOMPUTE_COALESCE_SECONDS if coalesce else None
    try:
        recompute_issue_gap.apply_async(
            args=(issue_id, layer),
            countdown=countdown,
            retry=True,
            retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2},
        )
    except Exception:
        logger.warning(
            "could not send recompute_issue_gap(%s, %s); the sweep will retry",
            issue_id,
            layer,
            exc_info=True,
        )
        return False
    return True


@dataclass(frozen=True)
class RecomputeResult:
    stored: bool
    rev: int
    figures_changed: bool
    still_pending: bool


def gap_summary_recompute(*, issue_id: int, layer: str) -> RecomputeResult:
    """Compute the summary from the current positions and store it if it is newer."""
    with transaction.atomic():
        summary = GapSummary.objects.filter(issue_id=issue_id, layer=layer).first()
        if summary is None:
            return RecomputeResult(stored=False, rev=0, figures_changed=False, still_pending=False)
        # Read the revision first: every write counted in it has committed, so the
        # positions read next include them (and possibly newer ones, which is harmless).
        rev = summary.requested_rev
        issue_input = selectors.issue_gap_input(issue_id=issue_id, layer=layer)
    if issue_input is None:
        return RecomputeResult(stored=False, rev=rev, figures_changed=False, still_pending=False)
    result = gaps.compute_issue(issue_input)
    return gap_summary_store(issue_id=issue_id, layer=layer, rev=rev, result=result)


@transaction.atomic
def gap_summary_store(
    *, issue_id: int, layer: str, rev: int, result: gaps.IssueGap
) -> RecomputeResult:
    summary = GapSummary.objects.select_for_update().filter(issue_id=issue_id, layer=layer).first()
    if summary is None or summary.computed_rev >= rev:
        # A newer (or the same) computation is already stored.
        still = bool(summary and summary.pending)
        return RecomputeResult(stored=False, rev=rev, figures_changed=False, still_pending=still)
    now = timezone.now()
    previous = gaps.IssueGap.from_dict(summary.figures) if summary.figures else None
    figures_changed = previous is None or previous.figures_key() != result.figures_key()
    trend = gaps.trend(previous, result)
    summary.status = result.status
    summary.gap = result.gap
    summary.zone_width = result.zone_width
    summary.demand_spread = result.demand_spread
    summary.narrative = result.narrative
    summary.figures = result.to_dict()
    summary.position_versions = dict(result.versions)
    summary.computed_rev = rev
    summary.computed_at = now
    summary.pending = summary.requested_rev > rev
    if figures_changed:
        summary.trend = {
            "direction": str(trend.direction),
            "delta": trend.delta,
            "since": now.isoformat(),
        }
        summary.figures_changed_at = now
    summary.save()
    talk_touch(talk_id=summary.issue.talk_id)
    if figures_changed:
        GapSummaryHistory.objects.create(
            issue_id=issue_id,
            layer=layer,
            rev=rev,
            status=result.status,
            gap=result.gap,
            zone_width=result.zone_width,
            demand_spread=result.demand_spread,
            narrative=result.narrative,
            figures=summary.figures,
            position_versions=summary.position_versions,
            computed_at=now,
        )
    return RecomputeResult(
        stored=True, rev=rev, figures_changed=figures_changed, still_pending=summary.pending
    )


def gap_summaries_stale() -> list[tuple[int, str]]:
    return list(
        GapSummary.objects.filter(Q(pending=True) | Q(computed_rev__lt=F("requested_rev")))
        .order_by("requested_at")
        .values_list("issue_id", "layer")
    )
