from django.apps import AppConfig


class InfusionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "infusions"
    verbose_name = "Infusion sessions"

    def ready(self):
        from consultations.docs import register_section
        from infusions import checks  # noqa: F401 - registers the deploy check
        from infusions.docs import clinical_rules_section

        register_section(clinical_rules_section)

        from consultations.order_checks import register_order_check
        from infusions.services.dosing import order_ceiling_problems

        register_order_check(order_ceiling_problems)

        from consultations.plan_checks import register_completion_check
        from infusions.selectors.sessions import plan_completion_problems

        register_completion_check(plan_completion_problems)

        from infusions.selectors.sessions import appointment_record_links
        from scheduling.hooks import register_record_links

        register_record_links(appointment_record_links)

        from infusions.selectors.board import appointment_care_states
        from scheduling.hooks import register_care_states

        register_care_states(appointment_care_states)

        # No infusion starts without each consent the clinic requires, signed on its current version.
        from consents.selectors import infusion_start_problems
        from infusions.signing import register_start_check

        register_start_check(infusion_start_problems)
