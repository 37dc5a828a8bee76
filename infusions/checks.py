"""`check --deploy`: refuse to call a deployment ready while an infusion safety setting is
blank or out of bounds (the columns and their constraints forbid it; a database restored
from before them, or edited by hand, might not)."""

from __future__ import annotations

from django.core.checks import Error, register
from django.db import DatabaseError

from infusions import rules
from infusions.models import InfusionPolicy

SAFETY_SETTINGS_CHECK_ID = "grace.E101"


@register("infusions", deploy=True)
def infusion_safety_settings(app_configs=None, **kwargs):
    try:
        stored = InfusionPolicy.objects.filter(pk=1).values(*(s.name for s in rules.SETTINGS)).first()
    except DatabaseError:
        # Not reachable or not migrated yet: migrating creates the columns with their
        # defaults and constraints, so there is no blank to report.
        return []
    if stored is None:  # not created yet: it is created with every default on first use
        return []
    return [
        Error(
            f"Infusion policy: {message}.",
            hint="Set it in the admin (Infusion policy).",
            obj=name,
            id=SAFETY_SETTINGS_CHECK_ID,
        )
        for name, message in rules.setting_problems(stored)
    ]
