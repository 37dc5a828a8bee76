"""Every write of the settings pages: lock, save, audit (configuration only, never PHI)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import models, transaction
from django.forms import ModelForm

from accounts import audit
from accounts.models import User
from clinic_settings.pages import Page, Retire


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, list | tuple | set) or hasattr(value, "all"):
        items = value.all() if hasattr(value, "all") else value
        return sorted(str(v) for v in items)
    return value


def _values(instance: models.Model, names: list[str]) -> dict[str, Any]:
    out = {}
    for name in names:
        model_field = instance._meta.get_field(name)
        if model_field.many_to_many:
            out[name] = _plain(getattr(instance, name)) if instance.pk else []
        else:
            out[name] = _plain(getattr(instance, name))
    return out


def _action(page: Page, past: str) -> str:
    return f"{page.model._meta.label_lower}.{past}"


@transaction.atomic
def setting_save(*, page: Page, form: ModelForm, by: User) -> models.Model:
    """Save a valid form of ``page`` and audit each changed field's value before and after."""
    instance = form.instance
    created = instance._state.adding
    names = list(form.changed_data)
    before: dict[str, Any] = {}
    if not created:
        locked = type(instance).objects.select_for_update().get(pk=instance.pk)
        before = _values(locked, names)
    saved = form.save()
    after = _values(saved, names)
    audit.record(
        actor=by,
        action=_action(page, "created" if created else "updated"),
        verb="create" if created else "update",
        category=page.audit_category,
        target=saved,
        changes={name: [before.get(name), after[name]] for name in names if before.get(name) != after[name]},
    )
    return saved


@transaction.atomic
def setting_retire(*, page: Page, pk: int, by: User, today: date) -> str:
    """Take a row out of use the way its page says; returns what happened, in words."""
    row = page.model.objects.select_for_update().get(pk=pk)
    label = str(row)
    if page.retire == Retire.DEACTIVATE:
        # Also the way back: a site reopened, a chair repaired.
        row.active = not row.active
        row.save(update_fields=["active"])
        verb, past = "update", "reactivated" if row.active else "deactivated"
        changes = {"active": [not row.active, row.active]}
        said = f"{past.capitalize()} {label}."
    elif page.retire == Retire.END:
        until = max(today, row.effective_from or today)
        changes = {"effective_until": [row.effective_until, until]}
        row.effective_until = until
        row.save(update_fields=["effective_until"])
        verb, past = "update", "ended"
        said = f"{label}: ends after {until:%m/%d/%Y}."
    elif page.retire == Retire.REMOVE:
        row.delete()
        verb, past, changes = "delete", "removed", {"removed": label, "id": pk}
        said = f"Removed {label}."
    else:
        raise ValueError(f"{page.title} are not retired")
    audit.record(
        actor=by,
        action=_action(page, past),
        verb=verb,
        category=page.audit_category,
        target=row if page.retire != Retire.REMOVE else None,
        changes=changes,
    )
    return said
