from django.apps import AppConfig


class FollowupsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "followups"
    verbose_name = "Follow-up and measurement-based care"

    def ready(self) -> None:
        from assessments import hooks
        from followups.services.alerts import on_response_recorded

        # Every stored questionnaire response, whatever the stage that recorded it, passes
        # the safety check here: assessments knows no stage app, so we register into it.
        hooks.register_response_hook(on_response_recorded)

        from followups.selectors import open_alerts_by_patient
        from infusions.chair_alerts import register_chair_alerts

        # An unacknowledged safety alert shows on the patient's chair on the infusion board.
        register_chair_alerts("followups.view_safetyalert", open_alerts_by_patient)

        from consultations.docs import register_section
        from followups.docs import clinical_rules_section

        # The safety alert's thresholds and escalation listed with the other clinical numbers.
        register_section(clinical_rules_section)

        from followups.selectors import appointment_record_links
        from scheduling.hooks import register_record_links

        # The appointment page reaches the visit's note whatever the day.
        register_record_links(appointment_record_links)
