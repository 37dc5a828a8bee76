from django.apps import AppConfig


class PacketsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "packets"
    verbose_name = "Pre-visit packets"

    def ready(self) -> None:
        from packets.tasks import on_appointment_changed
        from scheduling.hooks import register_appointment_changed

        # Booking an intake consultation sends the patient their pre-visit packet.
        register_appointment_changed(on_appointment_changed)

        from packets.selectors import paperwork_states
        from scheduling.hooks import register_paperwork

        # The day sheet says which intake consultations still lack their forms.
        register_paperwork(paperwork_states)

        from packets.consent_step import consent_step
        from packets.hooks import register_consent_step

        # The consent step hands the patient to the consents app's signing pages.
        register_consent_step(consent_step)
