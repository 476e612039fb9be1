from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse


class Talk(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        STALLED = "stalled", "Stalled"
        CONCLUDED = "concluded", "Concluded"

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=5000)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    started_on = models.DateField(null=True, blank=True)
    ended_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True)
                | Q(started_on__isnull=True)
                | Q(ended_on__gte=F("started_on")),
                name="talk_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["active", "stalled", "concluded"]),
                name="talk_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("talks:dashboard", kwargs={"slug": self.slug})


class Party(models.Model):
    name = models.CharField(max_length=120, unique=True)
    short_name = models.CharField(max_length=40, blank=True)
    description = models.TextField(blank=True, max_length=5000)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "parties"

    def __str__(self) -> str:
        return self.name


class TalkParty(models.Model):
    class Role(models.TextChoices):
        PRINCIPAL = "principal", "Principal"
        MEDIATOR = "mediator", "Mediator"
        GUARANTOR = "guarantor", "Guarantor"
        OBSERVER = "observer", "Observer"

    talk = models.ForeignKey(Talk, on_delete=models.CASCADE, related_name="talk_parties")
    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="talk_roles")
    role = models.CharField(max_length=16, choices=Role.choices)

    class Meta:
        ordering = ["talk_id", "role", "party__name"]
        verbose_name = "party in a talk"
        constraints = [
            models.UniqueConstraint(fields=["talk", "party"], name="talkparty_unique"),
            models.CheckConstraint(
                condition=Q(role__in=["principal", "mediator", "guarantor", "observer"]),
                name="talkparty_role_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.party} ({self.get_role_display()}) in {self.talk}"


class Round(models.Model):
    talk = models.ForeignKey(Talk, on_delete=models.CASCADE, related_name="rounds")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200, blank=True)
    place = models.CharField(max_length=120, blank=True)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True, max_length=10000)

    class Meta:
        ordering = ["talk_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["talk", "number"], name="round_number_unique"),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="round_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.talk}: round {self.number}" + (f" ({self.place})" if self.place else "")


class Membership(models.Model):
    """A user's access to one talk. Without one, the talk does not exist for that user."""

    class Role(models.TextChoices):
        ANALYST = "analyst", "Analyst"
        MEDIATOR = "mediator", "Mediator"
        VIEWER = "viewer", "Viewer"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    talk = models.ForeignKey(Talk, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["talk_id", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "talk"], name="membership_unique"),
            models.CheckConstraint(
                condition=Q(role__in=["analyst", "mediator", "viewer"]),
                name="membership_role_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} in {self.talk}"

    @property
    def can_edit_positions(self) -> bool:
        return self.role == self.Role.ANALYST

    @property
    def can_see_assessed(self) -> bool:
        return self.role in ROLES_SEEING_ASSESSED

    @property
    def can_write_proposals(self) -> bool:
        return self.role in {self.Role.ANALYST, self.Role.MEDIATOR}


# Roles that read the assessed layer (the analysts' estimate of real limits) besides the
# declared one.
ROLES_SEEING_ASSESSED = frozenset({Membership.Role.ANALYST, Membership.Role.MEDIATOR})
