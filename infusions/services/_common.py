"""Helpers shared by the infusion services."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import User
from core.audit import Category
from infusions import rules
from infusions.models import InfusionSession

AUDIT_CATEGORY = Category.CLINICAL
CHANGE = "infusions.change_infusionsession"
CLINICAL = "patients.view_clinical_record"


def require(user: User | None, *perms: str) -> None:
    if user is None or not all(user.has_perm(p) for p in (*perms, CLINICAL)):
        raise PermissionDenied


def lock(session: InfusionSession) -> InfusionSession:
    """Re-read the session under a row lock: concurrent writers queue, none is lost."""
    return InfusionSession.objects.select_for_update().select_related("patient", "plan__protocol").get(pk=session.pk)


def require_unsigned(session: InfusionSession) -> None:
    if session.is_signed:
        raise ValidationError("This session is signed: record an amendment instead.")


def field_error(error: rules.RuleInputError, mapping: dict[str, str] | None = None) -> ValidationError:
    """A rules refusal as a form field error (or a non-field error when no field matches)."""
    field = (mapping or {}).get(error.field, error.field)
    return ValidationError({field: error.message})
