from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from talks.models import Talk


class Layer(models.TextChoices):
    """Declared: what a party says in public. Assessed: the analysts' estimate of its limits."""

    DECLARED = "declared", "Declared"
    ASSESSED = "assessed", "Assessed"


class ScaleKind(models.TextChoices):
    NUMERIC = "numeric", "Numeric"
    ORDINAL = "ordinal", "Ordinal (ordered options)"
    CATEGORICAL = "categorical", "Categorical (unordered options)"


class Issue(models.Model):
    talk = models.ForeignKey(Talk, on_delete=models.CASCADE, related_name="issues")
    key = models.SlugField(max_length=60)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=10000)
    priority = models.PositiveSmallIntegerField(default=3)
    order = models.PositiveIntegerField(default=0)
    scale_kind = models.CharField(max_length=16, choices=ScaleKind.choices)
    scale_min = models.FloatField(null=True, blank=True)
    scale_max = models.FloatField(null=True, blank=True)
    unit = models.CharField(max_length=60, blank=True)
    max_label = models.CharField(
        max_length=60,
        blank=True,
        help_text="How to say the scale's maximum, e.g. 'permanent' for a ceasefire's length.",
    )
    # Covers the issue and its options: any change to either bumps it.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["talk_id", "order", "key"]
        constraints = [
            models.UniqueConstraint(fields=["talk", "key"], name="issue_key_unique_per_talk"),
            models.CheckConstraint(condition=Q(version__gte=1), name="issue_version_positive"),
            models.CheckConstraint(
                condition=Q(priority__gte=1, priority__lte=5), name="issue_priority_1_5"
            ),
            models.CheckConstraint(
                condition=Q(scale_kind__in=["numeric", "ordinal", "categorical"]),
                name="issue_scale_kind_valid",
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        scale_kind="numeric",
                        scale_min__isnull=False,
                        scale_max__isnull=False,
                        scale_min__lt=F("scale_max"),
                    )
                    | (~Q(scale_kind="numeric") & Q(scale_min__isnull=True, scale_max__isnull=True))
                ),
                name="issue_numeric_scale_min_lt_max",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("talks:issue", kwargs={"slug": self.talk.slug, "key": self.key})

    @property
    def is_numeric(self) -> bool:
        return self.scale_kind == ScaleKind.NUMERIC

    @property
    def has_options(self) -> bool:
        return self.scale_kind in {ScaleKind.ORDINAL, ScaleKind.CATEGORICAL}


class IssueOption(models.Model):
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="options")
    key = models.SlugField(max_length=60)
    label = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=5000)
    order = models.PositiveIntegerField()

    class Meta:
        ordering = ["issue_id", "order"]
        constraints = [
            models.UniqueConstraint(fields=["issue", "key"], name="option_key_unique_per_issue"),
            models.UniqueConstraint(
                fields=["issue", "order"], name="option_order_unique_per_issue"
            ),
        ]

    def __str__(self) -> str:
        return self.label


class GapSummary(models.Model):
    """The current gap figures of one issue on one layer.

    `requested_rev` is bumped by every position write (in its transaction); a recomputation
    stores its result only when it is newer than `computed_rev`, so late or duplicate task
    deliveries cannot replace a fresher summary.
    """

    class Status(models.TextChoices):
        ZONE = "zone", "Zone of agreement"
        GAP = "gap", "Gap"
        INSUFFICIENT = "insufficient", "Insufficient positions"

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="gap_summaries")
    layer = models.CharField(max_length=16, choices=Layer.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.INSUFFICIENT)
    gap = models.FloatField(null=True, blank=True)
    zone_width = models.FloatField(null=True, blank=True)
    demand_spread = models.FloatField(null=True, blank=True)
    narrative = models.TextField(blank=True)
    figures = models.JSONField(default=dict, blank=True)
    trend = models.JSONField(default=dict, blank=True)
    position_versions = models.JSONField(default=dict, blank=True)
    requested_rev = models.PositiveBigIntegerField(default=0)
    computed_rev = models.PositiveBigIntegerField(default=0)
    pending = models.BooleanField(default=False)
    requested_at = models.DateTimeField(null=True, blank=True)
    # The latest write's request: a burst of edits is over when this stops moving.
    last_requested_at = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    figures_changed_at = models.DateTimeField(null=True, blank=True)
    # Every computation run for this summary, stored or not: what a burst of edits cost.
    compute_count = models.PositiveBigIntegerField(default=0)
    # How long recomputations of this summary are spaced while edits keep coming (a level of
    # GAP_RECOMPUTE_COALESCE_SECONDS doublings); back to 0 once edits pause.
    coalesce_level = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["issue_id", "layer"]
        verbose_name_plural = "gap summaries"
        constraints = [
            models.UniqueConstraint(fields=["issue", "layer"], name="gapsummary_unique"),
            models.CheckConstraint(
                condition=Q(layer__in=["declared", "assessed"]), name="gapsummary_layer_valid"
            ),
            models.CheckConstraint(
                condition=Q(computed_rev__lte=F("requested_rev")),
                name="gapsummary_computed_not_ahead",
            ),
            models.CheckConstraint(
                condition=Q(gap__isnull=True) | Q(gap__gte=0, gap__lte=1),
                name="gapsummary_gap_0_1",
            ),
        ]
        indexes = [
            models.Index(fields=["pending"], name="gapsummary_pending", condition=Q(pending=True)),
        ]

    def __str__(self) -> str:
        return f"{self.issue} [{self.layer}]: {self.status}"

    @property
    def is_stale(self) -> bool:
        return self.computed_rev < self.requested_rev


class GapSummaryHistory(models.Model):
    """Every computed state whose figures changed, for trend charts and time travel."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="gap_history")
    layer = models.CharField(max_length=16, choices=Layer.choices)
    rev = models.PositiveBigIntegerField()
    status = models.CharField(max_length=16, choices=GapSummary.Status.choices)
    gap = models.FloatField(null=True, blank=True)
    zone_width = models.FloatField(null=True, blank=True)
    demand_spread = models.FloatField(null=True, blank=True)
    narrative = models.TextField(blank=True)
    figures = models.JSONField(default=dict, blank=True)
    position_versions = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["issue_id", "layer", "-computed_at"]
        verbose_name_plural = "gap summary history"
        constraints = [
            models.UniqueConstraint(fields=["issue", "layer", "rev"], name="gaphistory_unique"),
        ]
        indexes = [
            models.Index(fields=["issue", "layer", "computed_at"], name="gaphistory_issue_time"),
        ]

    def __str__(self) -> str:
        return f"{self.issue} [{self.layer}] rev {self.rev}: {self.status}"
