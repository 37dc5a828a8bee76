from django.apps import AppConfig


class StaffTasksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "staff_tasks"
    verbose_name = "Tasks between staff"
