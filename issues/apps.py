from django.apps import AppConfig


class IssuesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "issues"

    def ready(self) -> None:
        from . import signals  # noqa: F401 (connects the receivers)
