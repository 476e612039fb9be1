"""Optimistic concurrency, shared by every versioned row (positions, issues, sources)."""

from django.db import models

STALE_VERSION = (
    "This {what} was changed by someone else: you edited version {based_on}, "
    "the current version is {current}."
)


class StaleVersion(Exception):
    """The row changed since the version an edit was based on. Nothing was saved."""

    what = "record"

    def __init__(self, *, instance: models.Model, based_on_version: int) -> None:
        self.instance = instance
        self.current_version: int = instance.version  # type: ignore[attr-defined]
        self.based_on_version = based_on_version
        super().__init__(
            STALE_VERSION.format(
                what=self.what, based_on=based_on_version, current=self.current_version
            )
        )
