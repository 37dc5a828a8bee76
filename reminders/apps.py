from django.apps import AppConfig


class RemindersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reminders"
    verbose_name = "Appointment reminders"

    def ready(self) -> None:
        # lazy: the services import models, which are not loaded when the app config is.
        from reminders.services.sync import on_appointment_changed
        from scheduling.hooks import register_appointment_changed

        # Every booking, move and status change in the calendar re-syncs the appointment's reminders.
        register_appointment_changed(on_appointment_changed)
