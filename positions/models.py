from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from audit.append_only import AppendOnlyError, AppendOnlyQuerySet
from audit.context import Interface
from issues.models import Issue, IssueOption, Layer
from talks.models import Party, Talk


class Source(models.Model):
    class Reliability(models.TextChoices):
        HIGH = "high", "High"
        MEDIUM = "medium", "Medium"
        LOW = "low", "Low"
        UNKNOWN = "unknown", "Unknown"

    talk = models.ForeignKey(Talk, on_delete=models.CASCADE, related_name="sources")
    title = models.CharField(max_length=300)
    url = models.URLField(blank=True, max_length=1000)
    publisher = models.CharField(max_length=200, blank=True)
    published_on = models.DateField(null=True, blank=True)
    reliability = models.CharField(
        max_length=16, choices=Reliability.choices, default=Reliability.UNKNOWN
    )
    notes = models.TextField(blank=True, max_length=5000)
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["talk_id", "-published_on", "title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(reliability__in=["high", "medium", "low", "unknown"]),
                name="source_reliability_valid",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="source_version_positive"),
        ]

    def __str__(self) -> str:
        return self.title


class PositionQuerySet(models.QuerySet):
    def current(self) -> "PositionQuerySet":
        return self.filter(deleted_at__isnull=True)


class Position(models.Model):
    """A party's current stance on one issue, on one layer.

    Deleting a position keeps the row (with `deleted_at` set) so that its revision history,
    which is append-only, keeps pointing at it; creating it again revives the same row.
    """

    class Confidence(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"

    class Status(models.TextChoices):
        STATED = "stated", "Stated publicly"
        REPORTED = "reported", "Reported"
        ASSESSMENT = "assessment", "Analyst assessment"

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="positions")
    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="positions")
    layer = models.CharField(max_length=16, choices=Layer.choices)
    demand_value = models.FloatField(null=True, blank=True)
    demand_option = models.ForeignKey(
        IssueOption, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    red_line_value = models.FloatField(null=True, blank=True)
    red_line_option = models.ForeignKey(
        IssueOption, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    acceptable_options = models.ManyToManyField(
        IssueOption, through="PositionAcceptableOption", related_name="+", blank=True
    )
    priority = models.PositiveSmallIntegerField(default=3)
    rationale = models.TextField(blank=True, max_length=10000)
    conditions = models.TextField(blank=True, max_length=5000)
    # Structured linkages: this position holds only if other issues land within a range or
    # set, e.g. [{"issue": "withdrawal", "options": ["complete"]}] or
    # [{"issue": "ceasefire", "low": 0, "high": 60}]. Checked by issues.evaluation.
    links = models.JSONField(default=list, blank=True)
    confidence = models.CharField(max_length=8, choices=Confidence.choices, default="medium")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.STATED)
    sources = models.ManyToManyField(Source, related_name="positions", blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_via = models.CharField(max_length=16, choices=Interface.choices)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = PositionQuerySet.as_manager()

    class Meta:
        ordering = ["issue_id", "layer", "party__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["issue", "party", "layer"], name="position_one_per_issue_party_layer"
            ),
            models.CheckConstraint(
                condition=Q(priority__gte=1, priority__lte=5), name="position_priority_1_5"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="position_version_positive"),
            models.CheckConstraint(
                condition=Q(layer__in=["declared", "assessed"]), name="position_layer_valid"
            ),
            models.CheckConstraint(
                condition=Q(confidence__in=["low", "medium", "high"]),
                name="position_confidence_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["stated", "reported", "assessment"]),
                name="position_status_valid",
            ),
            # A demand is a number or an option, never both, never neither.
            models.CheckConstraint(
                condition=Q(demand_value__isnull=True) ^ Q(demand_option__isnull=True),
                name="position_demand_value_xor_option",
            ),
            models.CheckConstraint(
                condition=Q(red_line_value__isnull=True) | Q(red_line_option__isnull=True),
                name="position_red_line_value_or_option",
            ),
        ]
        indexes = [models.Index(fields=["updated_at"], name="position_updated_at")]

    def __str__(self) -> str:
        return f"{self.party} on {self.issue} ({self.layer})"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class PositionAcceptableOption(models.Model):
    """One option of a categorical position's acceptable set (its red line)."""

    position = models.ForeignKey(Position, on_delete=models.CASCADE)
    option = models.ForeignKey(IssueOption, on_delete=models.PROTECT)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["position", "option"], name="acceptable_option_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.position}: {self.option}"


class PositionRevision(models.Model):
    """An append-only copy of every saved state of a position (and of its deletion)."""

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Updated"
        DELETE = "delete", "Deleted"

    position = models.ForeignKey(Position, on_delete=models.PROTECT, related_name="revisions")
    # Copied from the position so history can be read by issue and layer without a join.
    issue = models.ForeignKey(Issue, on_delete=models.PROTECT, related_name="+")
    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="+")
    layer = models.CharField(max_length=16, choices=Layer.choices)
    version = models.PositiveIntegerField()
    action = models.CharField(max_length=8, choices=Action.choices)
    snapshot = models.JSONField()
    changes = models.JSONField(default=dict)
    note = models.TextField(max_length=2000)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    via = models.CharField(max_length=16, choices=Interface.choices)
    created_at = models.DateTimeField()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["position_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["position", "version"], name="revision_version_unique"),
        ]
        indexes = [
            models.Index(fields=["issue", "layer", "created_at"], name="revision_issue_time"),
            models.Index(fields=["created_at"], name="revision_time"),
        ]

    def __str__(self) -> str:
        return f"{self.position} v{self.version}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("Revisions are append-only: they cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Revisions are append-only: they cannot be deleted.")


class Proposal(models.Model):
    """A mediator's draft package: terms for some or all issues of a talk, in phases."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SHARED = "shared", "Shared with parties"
        WITHDRAWN = "withdrawn", "Withdrawn"
        SUPERSEDED = "superseded", "Superseded"

    talk = models.ForeignKey(Talk, on_delete=models.CASCADE, related_name="proposals")
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True, max_length=5000)
    mediator = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="proposals")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    superseded_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="supersedes"
    )
    # The proposal this one was drafted from (positions.services.proposal_copy), if any.
    copied_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="copies"
    )
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["talk_id", "-updated_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["draft", "shared", "withdrawn", "superseded"]),
                name="proposal_status_valid",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="proposal_version_positive"),
            # Only a superseded proposal names its successor, and never itself.
            models.CheckConstraint(
                condition=Q(superseded_by__isnull=True) | Q(status="superseded"),
                name="proposal_superseded_by_status",
            ),
            models.CheckConstraint(
                condition=~Q(superseded_by=F("pk")), name="proposal_not_superseded_by_itself"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("talks:proposal", kwargs={"slug": self.talk.slug, "pk": self.pk})


class ProposalPhase(models.Model):
    """A phase of a proposal, e.g. "1: 42-day truce" triggered by the first releases."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="phases")
    number = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200, blank=True)
    trigger = models.TextField(blank=True, max_length=2000)

    class Meta:
        ordering = ["proposal_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "number"], name="phase_number_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="phase_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.proposal}: phase {self.number}"


class ProposalTerm(models.Model):
    """One term: the value or option a proposal sets on one issue in one phase."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="terms")
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="proposal_terms")
    phase = models.PositiveSmallIntegerField(default=1)
    value_number = models.FloatField(null=True, blank=True)
    value_option = models.ForeignKey(
        IssueOption, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["proposal_id", "issue__order", "issue__key", "phase"]
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "issue", "phase"], name="term_one_per_issue_phase"
            ),
            models.CheckConstraint(condition=Q(phase__gte=1), name="term_phase_positive"),
            models.CheckConstraint(
                condition=Q(value_number__isnull=True) ^ Q(value_option__isnull=True),
                name="term_value_xor_option",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.proposal}: {self.issue} (phase {self.phase})"

    @property
    def value(self) -> float | str:
        return self.value_option.key if self.value_option_id else self.value_number


class ProposalRevision(models.Model):
    """An append-only copy of every saved state of a proposal."""

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="revisions")
    version = models.PositiveIntegerField()
    snapshot = models.JSONField()
    changes = models.JSONField(default=dict)
    note = models.TextField(blank=True, max_length=2000)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    via = models.CharField(max_length=16, choices=Interface.choices)
    created_at = models.DateTimeField()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["proposal_id", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "version"], name="proposal_revision_version_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.proposal} v{self.version}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("Revisions are append-only: they cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Revisions are append-only: they cannot be deleted.")
