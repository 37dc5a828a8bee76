from django.apps import AppConfig


class InquiriesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "inquiries"
    verbose_name = "Inquiries and referrals"

    def ready(self) -> None:
        from inquiries.services import inquiries_booked_for_appointment
        from scheduling.hooks import register_appointment_changed

        # An intake consultation booked for a patient moves their open inquiries to "booked".
        register_appointment_changed(inquiries_booked_for_appointment)
