"""The reports app owns no clinical data: it reads every stage and writes nothing.

``ReportAccess`` is an unmanaged holder (no table) for the two permissions the
reports check, so an administrator can grant them per role in the admin.
"""

from __future__ import annotations

from django.db import models


class ReportAccess(models.Model):
    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_reports", "Can view the operations and compliance reports"),
            ("view_clinical_quality", "Can view the clinical-quality (outcomes and safety) reports"),
            ("prepare_clinic_day", "Can see what the next clinic day's patients still need (clinical)"),
        ]

    def __str__(self) -> str:
        return "Report access"
