"""Every write of the settings pages: lock, save, audit (configuration only, never PHI)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.forms import ModelForm

from accounts import audit
from accounts.models import User
from clinic_settings.pages import Page, Policy, Retire
from consultations.models import Protocol
from consultations.models.configuration import PROTOCOL_SIGN_OFF_FIELDS
from consultations.services.configuration import protocol_save
from core.audit import Category, Verb
from prescribers.policy import policy_change_propose
from scheduling.models import Location, Resource
from scheduling.selectors import future_bookings

if TYPE_CHECKING:
    from clinic_settings.forms import SettingsForm


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
def setting_save(*, page: Page, form: SettingsForm, by: User) -> models.Model:
    """Save a valid form of ``page`` and audit each changed field's value before and after."""
    instance = form.instance
    created = instance._state.adding
    columns = {f.name for f in instance._meta.get_fields()}
    names = [name for name in form.changed_data if name in columns]
    before: dict[str, Any] = {}
    if not created:
        locked = type(instance)._default_manager.select_for_update().get(pk=instance.pk)
        before = {**_values(locked, names), **form.extra_values(locked)}
    else:
        before = form.extra_values(instance)
    saved = form.save()
    after = {**_values(saved, names), **form.extra_values(saved)}
    changes = {name: [before.get(name), value] for name, value in after.items() if before.get(name) != value}
    privileged = not created and bool(set(changes) & form.privilege_fields)
    audit.record(
        actor=by,
        action=_action(page, "created" if created else "privileges_changed" if privileged else "updated"),
        verb=Verb.CREATE if created else Verb.PRIVILEGE_CHANGE if privileged else Verb.UPDATE,
        category=page.audit_category,
        target=saved,
        changes=changes,
    )
    return saved


@transaction.atomic
def setting_retire(*, page: Page, pk: int, by: User, today: date) -> str:
    """Take a row out of use the way its page says; returns what happened, in words."""
    # One of the pages' models: which fields it has follows from how its page retires a row.
    row: Any = page.model._default_manager.select_for_update().get(pk=pk)
    label = str(row)
    if page.retire == Retire.DEACTIVATE:
        name = page.active_field
        active = not getattr(row, name)
        if row.pk == by.pk and not active:
            raise ValidationError("You cannot deactivate your own account; ask another administrator.")
        if not active and isinstance(row, Location | Resource):
            # A site or chair taken out of service with patients still booked there strands them.
            ahead = future_bookings(location=row) if isinstance(row, Location) else future_bookings(resource=row)
            if ahead:
                raise ValidationError(
                    f"{label} has {ahead} booking{'s' if ahead != 1 else ''} ahead: move or cancel "
                    f"{'them' if ahead != 1 else 'it'} first (the calendar lists them)."
                )
        # Also the way back: a site reopened, a chair repaired, a colleague back from leave.
        setattr(row, name, active)
        row.save(update_fields=[name])
        past = "reactivated" if active else "deactivated"
        verb = Verb.PRIVILEGE_CHANGE if page.audit_category == Category.SECURITY else Verb.UPDATE
        changes: dict[str, Any] = {name: [not active, active]}
        said = f"{past.capitalize()} {label}."
    elif page.retire == Retire.END:
        until = max(today, row.effective_from or today)
        changes = {"effective_until": [row.effective_until, until]}
        row.effective_until = until
        row.save(update_fields=["effective_until"])
        verb, past = Verb.UPDATE, "ended"
        said = f"{label}: ends after {until:%m/%d/%Y}."
    elif page.retire == Retire.REMOVE:
        row.delete()
        verb, past, changes = Verb.DELETE, "removed", {"removed": label, "id": pk}
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


def policy_save(*, policy: Policy, form: ModelForm, by: User) -> str:
    """A valid policy form: a proposal for the medical director, or (a policy without sign-off)
    saved at once with its audit event. Returns what happened, in words."""
    after = {name: form.cleaned_data[name] for name in form.changed_data if name in form.cleaned_data}
    if not after:
        return "Nothing changed."
    if policy.sign_off:
        proposal = policy_change_propose(policy=form.instance, by=by, after=after)
        if proposal is None:
            return "Nothing changed."
        return (
            f"Proposed {len(proposal.changes)} change{'s' if len(proposal.changes) != 1 else ''} to the "
            f"{policy.title.lower()}: it applies when the medical director signs it off."
        )
    _save_policy(policy=policy, form=form, by=by)
    return f"Saved the {policy.title.lower()}."


@transaction.atomic
def _save_policy(*, policy: Policy, form: ModelForm, by: User) -> None:
    names = list(form.changed_data)
    before = _values(policy.model._default_manager.select_for_update().get(pk=form.instance.pk), names)
    saved = form.save()
    audit.record(
        actor=by,
        action=f"{policy.model._meta.label_lower}.updated",
        verb=Verb.UPDATE,
        category=Category.CONFIGURATION,
        target=saved,
        changes={name: [before[name], value] for name, value in _values(saved, names).items()},
    )


@transaction.atomic
def protocol_page_save(*, form: ModelForm, by: User) -> str:
    """A new protocol saves at once (no plan rests on it yet). An edit of its dose figures is a
    clinical policy change for the medical director to sign off; the rest saves now."""
    protocol = form.instance
    created = protocol._state.adding
    dosing = [] if created else [name for name in form.changed_data if name in PROTOCOL_SIGN_OFF_FIELDS]
    if not dosing:
        protocol_save(protocol=protocol, by=by, created=created)
        return f"Saved protocol: {protocol}."
    proposed = {name: form.cleaned_data[name] for name in dosing}
    stored = Protocol.objects.select_for_update().get(pk=protocol.pk)
    for name in dosing:
        setattr(protocol, name, getattr(stored, name))
    if set(form.changed_data) - set(dosing):
        protocol_save(protocol=protocol, by=by, created=False)
    policy_change_propose(policy=protocol, by=by, after=proposed)
    return "Saved; the dose figures are a proposal: they change when the medical director signs it off."


SAVERS = {"protocol": protocol_page_save}
