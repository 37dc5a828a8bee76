from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "documents"
    verbose_name = "Documents (PDF visit summaries)"

    def ready(self) -> None:
        # lazy: app modules may import models only once every app is loaded (Django's rule for ready()).
        from documents import registry, tasks  # noqa: F401 - the render task, registered with Celery by name

        # Each app's documents.py registers the kinds it builds (as admin.py registers model admins).
        registry.autodiscover()
