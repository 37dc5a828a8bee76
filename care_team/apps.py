from django.apps import AppConfig


class CareTeamConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "care_team"
    verbose_name = "The patient's other clinicians"

    def ready(self) -> None:
        from care_team import integration
        from care_team.docs import clinical_rules_section
        from consultations.docs import register_section

        integration.connect()
        register_section(clinical_rules_section)
