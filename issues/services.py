"""Writes of issues and gap summaries.

Recomputation contract (DESIGN.md "Recomputation"):

* A position write calls `gap_summary_request` inside its transaction: it bumps
  `requested_rev` and sets `pending`; only the write that turns `pending` from false to
  true sends `recompute_issue_gap`, after commit. If the broker is down the write still
  commits, and the beat sweep re-sends every stale summary.
* A delivery (`gap_summary_refresh`) reads the current positions (never a payload),
  computes, and stores the result only when its revision is newer than the stored one, so
  duplicate, late or reordered deliveries are harmless.
* Coalescing. Writes made while a summary is pending send nothing; the computation that
  stores while writes are still arriving sends one follow-up. While writes keep coming,
  computations of one summary are spaced by `coalesce_interval(level)`:
  GAP_RECOMPUTE_COALESCE_SECONDS, doubled for every computation that follows the previous
  one closely, up to GAP_RECOMPUTE_COALESCE_MAX_SECONDS. Once writes have been quiet for
  `coalesce_quiet()` the burst is over and the summary is computed at once. A burst of
  edits therefore costs a handful of computations whatever its size (one at its start, one
  per interval, one at its end), while an isolated edit is computed at once.
* A delivery that finds another computation stored since it was sent (`after_rev`) or
  that a newer result is already stored leaves the follow-up to that computation, so
  duplicate deliveries do not multiply the chain of follow-ups.
"""

import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from enum import StrEnum
from functools import partial

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from audit.models import AuditAction
from audit.services import audit_record, audit_record_created, object_type_of
from talks.concurrency import StaleVersion
from talks.models import Talk
from talks.services import talk_touch

from . import gaps, selectors
from .models import GapSummary, GapSummaryHistory, Issue, IssueOption, Layer, ScaleKind

logger = logging.getLogger(__name__)


ISSUE_KIND_FIXED = "The scale kind cannot change; create a new issue instead."
ISSUE_OPTIONS_NEEDED = "A scale of options needs at least two options."
ISSUE_NO_OPTIONS = "Only ordinal and categorical issues have options."
OUTSIDE_NEW_SCALE = (
    "{count} current position(s) lie outside the new scale, e.g. {party} at {value}; "
    "move them first."
)
OPTION_KEY_TAKEN = "This issue already has an option with the key '{key}'."
OPTION_IN_USE = (
    "This option is used {count} time(s) by positions (current or withdrawn), their linked "
    "conditions or proposals; change them to another option first."
)
OPTION_UNKNOWN = "'{key}' is not an option of this issue."
OPTION_KEYS_MISMATCH = "Give every option of the issue exactly once."
ISSUE_KEY_TAKEN = "This talk already has an issue with the key '{key}'."


class IssueConflict(StaleVersion):
    what = "issue"


@dataclass(frozen=True)
class OptionInput:
    key: str
    label: str
    description: str = ""


@dataclass(frozen=True)
class IssueChanges:
    """What an analyst may change on an issue. The scale kind is fixed at creation."""

    title: str
    description: str = ""
    priority: int = 3
    order: int = 0
    scale_min: float | None = None
    scale_max: float | None = None
    unit: str = ""
    max_label: str = ""


def _issue_errors(issue: Issue) -> dict[str, str]:
    """One message per field for an issue about to be saved.

    The database constraints would catch the same mistakes, but with messages naming the
    constraint; these say what to fix, on the field to fix.
    """
    errors: dict[str, str] = {}
    try:
        issue.full_clean(exclude=["version"], validate_constraints=False)
    except ValidationError as exc:
        errors.update({k: v[0] for k, v in exc.message_dict.items()})
    if issue.scale_kind == ScaleKind.NUMERIC:
        scale = gaps.Scale(
            kind=gaps.ScaleKind.NUMERIC, minimum=issue.scale_min, maximum=issue.scale_max
        )
        field_of = {"minimum": "scale_min", "maximum": "scale_max"}
        for name, message in gaps.validate_scale(scale).items():
            errors.setdefault(field_of[name], message)
    if not gaps.PRIORITY_MIN <= (issue.priority or 0) <= gaps.PRIORITY_MAX:
        errors.setdefault("priority", gaps.PRIORITY_OUT_OF_RANGE)
    if (
        "key" not in errors
        and Issue.objects.filter(talk_id=issue.talk_id, key=issue.key).exclude(pk=issue.pk).exists()
    ):
        errors["key"] = ISSUE_KEY_TAKEN.format(key=issue.key)
    if not errors:
        try:
            issue.validate_constraints()
        except ValidationError as exc:
            errors.update({k: v[0] for k, v in exc.message_dict.items()})
    return errors


# Fields whose change alters the figures or the wording of the gap summaries.
_SCALE_FIELDS = ("scale_min", "scale_max", "unit", "max_label")


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
    by: AbstractBaseUser | None = None,
) -> Issue:
    """Create an issue with its scale (and options, in scale order)."""
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
    errors = _issue_errors(issue)
    rows = [
        IssueOption(key=o.key, label=o.label, description=o.description, order=i)
        for i, o in enumerate(options)
    ]
    if scale_kind == ScaleKind.NUMERIC:
        if rows:
            errors["options"] = ISSUE_NO_OPTIONS
    elif scale_kind in ScaleKind.values:
        keys = [o.key for o in options]
        if len(keys) < 2:
            errors["options"] = ISSUE_OPTIONS_NEEDED
        elif len(set(keys)) != len(keys):
            errors["options"] = gaps.SCALE_OPTIONS_DUPLICATE
        for row in rows:
            try:
                row.full_clean(exclude=["issue"])
            except ValidationError as exc:
                errors.setdefault("options", f"{row.key or '(blank)'}: {exc.messages[0]}")
    if errors:
        raise ValidationError(errors)
    issue.save()
    for row in rows:
        row.issue = issue
    IssueOption.objects.bulk_create(rows)
    # bulk_create sends no model signals: the options' creation is recorded here.
    audit_record_created(instances=rows)
    gap_summaries_ensure(issues=[issue])
    talk_touch(talk_id=talk.pk)
    return issue


def _lock_issue(issue: Issue, based_on_version: int) -> Issue:
    current = Issue.objects.select_for_update().get(pk=issue.pk)
    if current.version != based_on_version:
        raise IssueConflict(instance=current, based_on_version=based_on_version)
    return current


def _issue_changed(issue: Issue, *, scale_changed: bool) -> None:
    """Bump the version; a scale change makes both layers' summaries stale."""
    Issue.objects.filter(pk=issue.pk).update(version=F("version") + 1, updated_at=timezone.now())
    issue.refresh_from_db(fields=["version", "updated_at"])
    if scale_changed:
        for layer in Layer.values:
            gap_summary_request(issue_id=issue.pk, layer=layer)
    talk_touch(talk_id=issue.talk_id)


def _numeric_values_outside(issue: Issue, low: float, high: float) -> list[tuple[str, float]]:
    from positions.models import Position

    rows = (
        Position.objects.current()
        .filter(issue=issue)
        .select_related("party")
        .order_by("party__name", "layer")
    )
    return [
        (p.party.name, value)
        for p in rows
        for value in (p.demand_value, p.red_line_value)
        if value is not None and not (low <= value <= high)
    ]


@transaction.atomic
def issue_update(
    *,
    issue: Issue,
    based_on_version: int,
    changes: IssueChanges,
    by: AbstractBaseUser | None,
) -> Issue:
    """Change an issue's wording, priority or numeric scale. Refused if stale.

    Narrowing a numeric scale is refused while a current position lies outside it.
    """
    current = _lock_issue(issue, based_on_version)
    before = {f: getattr(current, f) for f in asdict(changes)}
    numeric = current.scale_kind == ScaleKind.NUMERIC
    for name, value in asdict(changes).items():
        if name in ("scale_min", "scale_max") and not numeric:
            value = None
        setattr(current, name, value)
    errors = _issue_errors(current)
    if errors:
        raise ValidationError(errors)
    if numeric and (current.scale_min, current.scale_max) != (
        before["scale_min"],
        before["scale_max"],
    ):
        outside = _numeric_values_outside(current, current.scale_min, current.scale_max)
        if outside:
            party, value = outside[0]
            raise ValidationError(
                {
                    "scale_min"
                    if value < current.scale_min
                    else "scale_max": OUTSIDE_NEW_SCALE.format(
                        count=len(outside), party=party, value=value
                    )
                }
            )
    after = {f: getattr(current, f) for f in asdict(changes)}
    if after == before:
        return current
    current.save()
    _issue_changed(current, scale_changed=any(before[f] != after[f] for f in _SCALE_FIELDS))
    return current


def _options_locked(issue: Issue, based_on_version: int) -> Issue:
    current = _lock_issue(issue, based_on_version)
    if current.scale_kind == ScaleKind.NUMERIC:
        raise ValidationError({"options": ISSUE_NO_OPTIONS})
    return current


@transaction.atomic
def issue_option_add(
    *,
    issue: Issue,
    based_on_version: int,
    option: OptionInput,
    before_key: str | None = None,
    by: AbstractBaseUser | None,
) -> IssueOption:
    """Add an option at the end of the scale, or just before `before_key`."""
    current = _options_locked(issue, based_on_version)
    errors: dict[str, str] = {}
    try:
        validate_slug(option.key)
    except ValidationError as exc:
        errors["key"] = exc.messages[0]
    options = list(current.options.order_by("order"))
    keys = [o.key for o in options]
    if option.key in keys:
        errors["key"] = OPTION_KEY_TAKEN.format(key=option.key)
    if before_key is not None and before_key not in keys:
        errors["before"] = OPTION_UNKNOWN.format(key=before_key)
    new = IssueOption(
        issue=current,
        key=option.key,
        label=option.label,
        description=option.description,
        order=len(options),
    )
    try:
        new.full_clean(exclude=["issue", "order", "key"])
    except ValidationError as exc:
        errors.update({k: v[0] for k, v in exc.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    if before_key is None:
        new.save()
    else:
        at = keys.index(before_key)
        ordered = [*options[:at], new, *options[at:]]
        _renumber(current, ordered)
    _issue_changed(current, scale_changed=True)
    return new


def _renumber(issue: Issue, ordered: Sequence[IssueOption]) -> None:
    """Give options the orders 0..n-1 without tripping the (issue, order) unique constraint."""
    before = list(issue.options.order_by("order").values_list("key", flat=True))
    shift = len(ordered) + max((o.order for o in ordered if o.pk), default=0) + 1
    IssueOption.objects.filter(issue=issue).update(order=F("order") + shift)
    for i, option in enumerate(ordered):
        option.order = i
        if option.pk is None:
            option.save()
        else:
            IssueOption.objects.filter(pk=option.pk).update(order=i)
    after = [option.key for option in ordered]
    if [key for key in before if key in after] != [key for key in after if key in before]:
        # The orders move by QuerySet.update, which the audit signals do not see.
        audit_record(
            action=AuditAction.UPDATE,
            object_type=object_type_of(issue),
            object_id=issue.pk,
            label=str(issue),
            talk_id=issue.talk_id,
            changes={"option_order": {"before": before, "after": after}},
        )


@transaction.atomic
def issue_option_update(
    *,
    option: IssueOption,
    based_on_version: int,
    label: str,
    description: str = "",
    by: AbstractBaseUser | None,
) -> IssueOption:
    """Change an option's label or description (its key is how data refers to it)."""
    current = _options_locked(option.issue, based_on_version)
    row = IssueOption.objects.get(pk=option.pk, issue=current)
    if (row.label, row.description) == (label, description):
        return row
    row.label, row.description = label, description
    row.full_clean(exclude=["issue"])
    row.save(update_fields=["label", "description"])
    _issue_changed(current, scale_changed=True)
    return row


@transaction.atomic
def issue_options_reorder(
    *,
    issue: Issue,
    based_on_version: int,
    keys: Sequence[str],
    by: AbstractBaseUser | None,
) -> list[IssueOption]:
    """Put the options in the given order (every key exactly once)."""
    current = _options_locked(issue, based_on_version)
    options = {o.key: o for o in current.options.all()}
    if sorted(keys) != sorted(options) or len(set(keys)) != len(keys):
        raise ValidationError({"options": OPTION_KEYS_MISMATCH})
    ordered = [options[k] for k in keys]
    if [o.order for o in ordered] == sorted(o.order for o in ordered):
        return ordered
    _renumber(current, ordered)
    _issue_changed(current, scale_changed=True)
    return ordered


@transaction.atomic
def issue_option_delete(
    *,
    option: IssueOption,
    based_on_version: int,
    by: AbstractBaseUser | None,
) -> None:
    """Remove an option no position uses; a scale keeps at least two options."""
    from positions.models import Position, PositionAcceptableOption, ProposalTerm

    current = _options_locked(option.issue, based_on_version)
    row = IssueOption.objects.get(pk=option.pk, issue=current)
    linked = sum(
        1
        for links in Position.objects.filter(issue__talk_id=current.talk_id)
        .exclude(links=[])
        .values_list("links", flat=True)
        for link in links
        if link.get("issue") == current.key and row.key in link.get("options", ())
    )
    used = (
        Position.objects.filter(Q(demand_option=row) | Q(red_line_option=row)).count()
        + PositionAcceptableOption.objects.filter(option=row).count()
        + ProposalTerm.objects.filter(value_option=row).count()
        + linked
    )
    if used:
        raise ValidationError({"options": OPTION_IN_USE.format(count=used)})
    remaining = [o for o in current.options.order_by("order") if o.pk != row.pk]
    if len(remaining) < 2:
        raise ValidationError({"options": ISSUE_OPTIONS_NEEDED})
    row.delete()
    _renumber(current, remaining)
    _issue_changed(current, scale_changed=True)


def gap_summaries_ensure(*, issues: Iterable[Issue]) -> None:
    """Every issue has a summary row per layer, so a write only ever updates one."""
    GapSummary.objects.bulk_create(
        [GapSummary(issue=issue, layer=layer) for issue in issues for layer in Layer.values],
        ignore_conflicts=True,
    )


def gap_summaries_request_for_talk(*, talk_id: int) -> None:
    """The talk's principals changed: every summary of the talk, on both layers, is stale."""
    for issue_id in Issue.objects.filter(talk_id=talk_id).values_list("pk", flat=True):
        for layer in Layer.values:
            gap_summary_request(issue_id=issue_id, layer=layer)


def gap_summary_request(*, issue_id: int, layer: str) -> None:
    """Mark the summary stale inside the caller's transaction; schedule one recomputation.

    The row is locked before it is read, so a computation cannot store (and clear
    `pending`) between the read and the update, which would leave the summary stale with
    no task on its way: of two concurrent writers exactly one sees `pending` go from false
    to true, and only that one sends a task.
    """
    now = timezone.now()
    summary = GapSummary.objects.filter(issue_id=issue_id, layer=layer)
    # The lock a plain UPDATE takes anyway (FOR NO KEY UPDATE), only taken before the read.
    locked = summary.select_for_update(no_key=True)
    was_pending = locked.values_list("pending", flat=True).first()
    if was_pending is None:
        # No summary row yet (an issue created outside issue_create): make one, pending.
        GapSummary.objects.create(
            issue_id=issue_id,
            layer=layer,
            requested_rev=1,
            pending=True,
            requested_at=now,
            last_requested_at=now,
        )
    elif was_pending:
        summary.update(requested_rev=F("requested_rev") + 1, last_requested_at=now)
        return
    else:
        summary.update(
            requested_rev=F("requested_rev") + 1,
            pending=True,
            requested_at=now,
            last_requested_at=now,
        )
    transaction.on_commit(partial(gap_recompute_send, issue_id=issue_id, layer=layer), robust=True)


def gap_recompute_send(
    *,
    issue_id: int,
    layer: str,
    countdown: float | None = None,
    after_rev: int | None = None,
) -> bool:
    """Send `recompute_issue_gap`; never fail the caller if the broker is down.

    The write has committed already; the periodic sweep re-sends what could not be sent.
    `after_rev` is the `computed_rev` the sender saw: if a computation has stored a newer one
    by the time the task runs, that computation has taken over and the task does nothing.
    """
    from .tasks import recompute_issue_gap

    kwargs = {} if after_rev is None else {"after_rev": after_rev}
    try:
        recompute_issue_gap.apply_async(
            args=(issue_id, layer),
            kwargs=kwargs,
            countdown=countdown if countdown and countdown > 0 else None,
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


def coalesce_quiet() -> float:
    """Seconds without a new write after which a burst is taken to be over."""
    return 2 * settings.GAP_RECOMPUTE_COALESCE_SECONDS


def coalesce_interval(level: int) -> float:
    """Least time, in seconds, between two computations of a summary at this level."""
    base = settings.GAP_RECOMPUTE_COALESCE_SECONDS
    cap = max(base, settings.GAP_RECOMPUTE_COALESCE_MAX_SECONDS)
    return min(cap, base * 2 ** min(level, 30))


def _next_coalesce_level(level: int, since_previous: timedelta | None) -> int:
    """One level up when this computation follows the previous one closely, else 0.

    Closely: within twice the longer of the interval and the quiet time. A computation that
    stores while writes keep coming sends its follow-up `coalesce_quiet()` later, so at the
    lowest level the next one comes just over the quiet time after it; measured against the
    interval alone, a steady stream of writes would keep the level at 0 (a computation
    every half second).
    """
    interval = coalesce_interval(level)
    close = 2 * max(interval, coalesce_quiet())
    if since_previous is None or since_previous.total_seconds() >= close:
        return 0
    if interval >= coalesce_interval(level + 1):
        return level  # at the maximum already
    return level + 1


@dataclass(frozen=True)
class RecomputeResult:
    stored: bool
    rev: int
    figures_changed: bool
    still_pending: bool
    coalesce_level: int = 0


class Refresh(StrEnum):
    """What one delivery of `recompute_issue_gap` did."""

    MISSING = "missing"  # no such summary (the issue was deleted)
    SUPERSEDED = "superseded"  # a computation stored since the task was sent, and took over
    CURRENT = "current"  # nothing was requested since the last computation
    DEFERRED = "deferred"  # computed moments ago: sent again for when the interval is over
    STORED = "stored"
    NOT_STORED = "not-stored"  # computed, but a newer result was stored meanwhile


def gap_summary_refresh(
    *, issue_id: int, layer: str, after_rev: int | None = None, may_defer: bool = True
) -> Refresh:
    """One delivery of `recompute_issue_gap`: bring the summary up to date, at a measured pace.

    `may_defer=False` (tasks run in-process) computes at once and follows up at once.
    """
    state = (
        GapSummary.objects.filter(issue_id=issue_id, layer=layer)
        .values(
            "requested_rev",
            "computed_rev",
            "pending",
            "computed_at",
            "last_requested_at",
            "coalesce_level",
        )
        .first()
    )
    if state is None:
        return Refresh.MISSING
    if after_rev is not None and state["computed_rev"] > after_rev:
        return Refresh.SUPERSEDED
    if state["computed_rev"] >= state["requested_rev"] and not state["pending"]:
        return Refresh.CURRENT
    wait = _coalesce_wait(state) if may_defer else 0.0
    if wait > 0:
        gap_recompute_send(
            issue_id=issue_id, layer=layer, countdown=wait, after_rev=state["computed_rev"]
        )
        return Refresh.DEFERRED
    # The revision just read counts every write that has committed, so the positions read
    # next include them: no need to read it again.
    result = gap_summary_recompute(issue_id=issue_id, layer=layer, rev=state["requested_rev"])
    if not result.stored:
        return Refresh.NOT_STORED
    if result.still_pending:
        # Writes arrived while computing; none of them sent a task (the summary was
        # pending), so this computation sends the next one, which comes back soon to see
        # whether the burst is over.
        gap_recompute_send(
            issue_id=issue_id,
            layer=layer,
            countdown=coalesce_quiet() if may_defer else None,
            after_rev=result.rev,
        )
    return Refresh.STORED


def _coalesce_wait(state: dict) -> float:
    """Seconds to wait before computing a stale summary; 0 to compute now.

    Now when the last computation is at least the current interval old, or when writes have
    been quiet for `coalesce_quiet()` (the burst is over) and the last computation is not
    brand new; else at the earliest moment either can hold.
    """
    if state["computed_at"] is None:
        return 0.0
    now = timezone.now()
    since_computed = (now - state["computed_at"]).total_seconds()
    last_request = state["last_requested_at"] or state["computed_at"]
    quiet_for = (now - last_request).total_seconds()
    interval = coalesce_interval(state["coalesce_level"])
    quiet = coalesce_quiet()
    if since_computed >= interval or (quiet_for >= quiet and since_computed >= quiet):
        return 0.0
    return min(interval - since_computed, max(quiet - quiet_for, quiet - since_computed))


def gap_summary_recompute(*, issue_id: int, layer: str, rev: int | None = None) -> RecomputeResult:
    """Compute the summary from the current positions and store it if it is newer.

    `rev` is the summary's `requested_rev` as the caller read it just before; without it, it
    is read here.
    """
    with transaction.atomic():
        if rev is None:
            rev = (
                GapSummary.objects.filter(issue_id=issue_id, layer=layer)
                .values_list("requested_rev", flat=True)
                .first()
            )
            if rev is None:
                return RecomputeResult(
                    stored=False, rev=0, figures_changed=False, still_pending=False
                )
        # The revision is read first: every write counted in it has committed, so the
        # positions read next include them (and possibly newer ones, which is harmless:
        # the summary stays pending and is computed again).
        issue_input = selectors.issue_gap_input(issue_id=issue_id, layer=layer)
    if issue_input is None:
        return RecomputeResult(stored=False, rev=rev, figures_changed=False, still_pending=False)
    result = gaps.compute_issue(issue_input)
    return gap_summary_store(issue_id=issue_id, layer=layer, rev=rev, result=result)


def gap_summary_compute_now(*, issue_id: int, layer: str, force: bool = False) -> RecomputeResult:
    """Compute synchronously until the summary is current (the recompute_gaps command).

    `force` recomputes a current summary too (after a change of the engine, an issue's
    title or its options), under a new revision so that the result is stored.
    """
    if force:
        GapSummary.objects.filter(issue_id=issue_id, layer=layer).update(
            requested_rev=F("requested_rev") + 1, pending=True, requested_at=timezone.now()
        )
    result = gap_summary_recompute(issue_id=issue_id, layer=layer)
    # Writes made meanwhile: take them too, a few times at most (a burst is the
    # pipeline's business, and it was sent its task by the writes).
    for _ in range(3):
        if not (result.stored and result.still_pending):
            break
        result = gap_summary_recompute(issue_id=issue_id, layer=layer)
    return result


def _previous_result(figures: dict) -> gaps.IssueGap | None:
    if not figures:
        return None
    try:
        return gaps.IssueGap.from_dict(figures)
    except (KeyError, TypeError, ValueError):
        # Stored by an older version of the engine: compare with nothing rather than fail.
        logger.warning("stored gap figures could not be read back; trend starts over")
        return None


@transaction.atomic
def gap_summary_store(
    *, issue_id: int, layer: str, rev: int, result: gaps.IssueGap
) -> RecomputeResult:
    """Store a computation made at `rev` if nothing as new is stored; count it either way."""
    summary = (
        GapSummary.objects.select_for_update(of=("self",))
        .select_related("issue")
        .filter(issue_id=issue_id, layer=layer)
        .first()
    )
    if summary is None:
        return RecomputeResult(stored=False, rev=rev, figures_changed=False, still_pending=False)
    summary.compute_count += 1
    if summary.computed_rev >= rev:
        # A newer (or the same) computation is already stored.
        if summary.pending and summary.computed_rev >= summary.requested_rev:
            summary.pending = False  # nothing is owed: never leave a summary marked pending
        summary.save(update_fields=["compute_count", "pending"])
        return RecomputeResult(
            stored=False,
            rev=rev,
            figures_changed=False,
            still_pending=summary.pending,
            coalesce_level=summary.coalesce_level,
        )
    now = timezone.now()
    previous = _previous_result(summary.figures)
    figures_changed = previous is None or previous.figures_key() != result.figures_key()
    trend = gaps.trend(previous, result)
    summary.status = result.status
    summary.gap = result.gap
    summary.zone_width = result.zone_width
    summary.demand_spread = result.demand_spread
    summary.narrative = result.narrative
    summary.figures = result.to_dict()
    summary.position_versions = dict(result.versions)
    summary.coalesce_level = _next_coalesce_level(
        summary.coalesce_level, now - summary.computed_at if summary.computed_at else None
    )
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
    talk_touch(talk_id=summary.issue.talk_id, layer=summary.layer)
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
        stored=True,
        rev=rev,
        figures_changed=figures_changed,
        still_pending=summary.pending,
        coalesce_level=summary.coalesce_level,
    )
