from django.apps import AppConfig


class CoursesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "courses"
    verbose_name = "Courses over months"

    def ready(self):
        from consultations.docs import register_section
        from courses.docs import clinical_rules_section

        register_section(clinical_rules_section)

        from courses.selectors import booking_refusals, check_in_refusals
        from scheduling.hooks import register_booking_check, register_check_in_check

        register_booking_check(booking_refusals)
        register_check_in_check(check_in_refusals)

        from courses.selectors import start_problems
        from infusions.signing import register_start_check

        register_start_check(start_problems)
