from django.apps import AppConfig


class ReportsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        # lazy: app modules may import models only once every app is loaded (Django's rule for ready()).
        from reports import exports

        # The reports' and the audit trail's long CSVs are written by the documents worker.
        exports.register()
