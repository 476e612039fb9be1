from django.conf import settings
from django.db import models
from django.db.models import Q

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
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["talk", "-published_on", "title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(reliability__in=["high", "medium", "low", "unknown"]),
                name="source_reliability_valid",
            ),
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
        ordering = ["issue", "layer", "party__name"]
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
        ordering = ["position", "-version"]
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
