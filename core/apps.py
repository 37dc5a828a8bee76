from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The shared helpers below every app; its one table is the public pages' request counters."""

    name = "core"
    verbose_name = "Shared helpers"
