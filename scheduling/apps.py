from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        # lazy: the services import models, which are not loaded when the app config is.
        from patients.access import register_location_scope
        from scheduling import access
        from scheduling.hooks import register_appointment_changed
        from scheduling.services.self_booking import on_appointment_changed

        # A cancellation offers its slot to the waitlist once it commits.
        register_appointment_changed(on_appointment_changed)
        # One chart's access (patients.access) asks whether the patient is within the user's locations.
        register_location_scope(access)
