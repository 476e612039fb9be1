from django.apps import AppConfig


class TalksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "talks"

    def ready(self) -> None:
        from . import signals  # noqa: F401 (connects the receivers)
