from django.apps import AppConfig


class ConsultationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "consultations"
    verbose_name = "Consultations and treatment plans"

    def ready(self):
        from consultations.selectors import appointment_record_links
        from scheduling.hooks import register_record_links

        register_record_links(appointment_record_links)
