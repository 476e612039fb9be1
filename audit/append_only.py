"""Guards for tables whose rows are written once and never changed or removed.

These stop the application's own code paths (model save/delete, queryset update/delete).
On PostgreSQL a trigger and the application role's privileges hold the same rule for any
SQL (see SECURITY.md).
"""

from typing import Any

from django.db import models


class AppendOnlyError(Exception):
    """Raised when code tries to change or remove a row of an append-only table."""


def _refuse(model: type[models.Model], what: str) -> AppendOnlyError:
    name = str(model._meta.verbose_name_plural).capitalize()
    return AppendOnlyError(f"{name} are append-only: they cannot be {what}.")


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise _refuse(self.model, "updated")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise _refuse(self.model, "deleted")

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        raise _refuse(self.model, "updated")

    def update_or_create(self, *args: Any, **kwargs: Any) -> Any:
        raise _refuse(self.model, "updated")


class AppendOnlyModel(models.Model):
    """A model whose saved rows cannot be saved again or deleted through the ORM."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise _refuse(type(self), "updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise _refuse(type(self), "deleted")
