from django.apps import AppConfig


class PrescribersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "prescribers"
    verbose_name = "Prescribers' credentials"

    def ready(self) -> None:
        from accounts.prescribing import register_credential_check
        from prescribers.selectors import credential_problems_for

        # Every prescriber-only decision (accounts.prescribing.require_prescriber) also needs
        # a current licence and DEA registration; accounts cannot import this app, so it asks.
        register_credential_check(credential_problems_for)
