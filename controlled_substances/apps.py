from django.apps import AppConfig


class ControlledSubstancesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "controlled_substances"
    verbose_name = "Controlled substances (ketamine ledger)"

    def ready(self) -> None:
        from controlled_substances import integration

        integration.connect_infusions()
