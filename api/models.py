from django.conf import settings
from django.db import models


class TokenSettings(models.Model):
    """What a knox token is for and what it may do, kept beside it.

    knox stores only a hash of the token; this row names it and can make it read-only.
    A token without one (made outside Redline's services) has knox's default: full access.
    """

    token = models.OneToOneField(
        settings.KNOX_TOKEN_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="settings",
    )
    name = models.CharField(max_length=80)
    read_only = models.BooleanField(default=False)

    class Meta:
        verbose_name = "API token settings"
        verbose_name_plural = "API token settings"

    def __str__(self) -> str:
        access = "read-only" if self.read_only else "read and write"
        return f"{self.name} ({access})"
