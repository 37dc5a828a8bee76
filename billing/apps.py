from django.apps import AppConfig


class BillingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        # lazy: the services import models, which are not loaded when the app config is.
        from billing import checks  # noqa: F401 - registers the payment provider's deploy checks
        from billing.integration import connect_scheduling

        # A completed visit is invoiced, a no-show or a late cancellation charged its fee, as the
        # calendar moves the appointment; scheduling imports nothing from billing.
        connect_scheduling()
