from django.apps import AppConfig


class ControlledSubstancesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "controlled_substances"
    verbose_name = "Controlled substances (ketamine ledger)"

    def ready(self) -> None:
        from controlled_substances import integration, services
        from scheduling import daily

        integration.connect_infusions()
        # Each site's vials are reconciled nightly at its own close of day.
        daily.register_daily_job("controlled_substances.ledger_reconcile", services.reconciliation_run)
