"""Clinical policy changes wait for the medical director's sign-off.

An administrator edits a policy (infusion, screening or follow-up thresholds) in the admin;
the edit is stored here as a proposal with every field's before and after values and the
policy itself does not change. A prescriber flagged as medical director signs it off (then
it applies, audited with before and after) or declines it. A proposal whose "before" no
longer matches the policy (someone changed it meanwhile) is refused, never applied blind.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from accounts.prescribing import PrescriberRequired, require_prescriber
from core.audit import Category, Verb
from prescribers.models import PolicyChange
from prescribers.selectors import is_medical_director

SIGN_OFF = "prescribers.sign_off_policy"


def _stored(field, value: Any) -> Any:
    """A JSON-safe copy of a field value that compares equal whenever the values do: decimals
    as text with the field's places ("30" and "30.0" are one value), anything else not JSON
    as text; ``field.to_python`` reads each back."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return f"{value:.{field.decimal_places}f}"
    return str(value)


def _fields(policy, names) -> dict[str, Any]:
    fields = {name: policy._meta.get_field(name) for name in names}
    return {name: _stored(field, field.value_from_object(policy)) for name, field in fields.items()}


def _baseline(policy) -> dict[str, Any]:
    """Every setting of the policy row (not who or when): a sign-off applies only onto the
    row it was proposed against, so two proposals can never combine into an unreviewed one."""
    names = [
        f.name for f in policy._meta.concrete_fields if not f.primary_key and f.name not in ("updated_at", "updated_by")
    ]
    return _fields(policy, names)


@transaction.atomic
def policy_change_propose(*, policy, by: User, after: dict[str, Any]) -> PolicyChange | None:
    """Store the edit of ``policy`` (a saved singleton) as a proposal; None when nothing changed."""
    fresh = type(policy).objects.get(pk=policy.pk)
    before = _fields(fresh, after)
    proposed = {name: _stored(policy._meta.get_field(name), value) for name, value in after.items()}
    changes = {
        name: {"label": str(policy._meta.get_field(name).verbose_name), "before": before[name], "after": value}
        for name, value in proposed.items()
        if before[name] != value
    }
    if not changes:
        return None
    change = PolicyChange.objects.create(
        policy_model=policy._meta.label_lower,
        policy_id=policy.pk,
        policy_label=str(policy._meta.verbose_name),
        changes=changes,
        baseline=_baseline(fresh),
        proposed_by=by,
        proposed_at=timezone.now(),
    )
    audit.record(
        actor=by,
        action="prescribers.policy_change.proposed",
        verb=Verb.CREATE,
        category=Category.CONFIGURATION,
        target=change,
        changes={"policy": change.policy_model, **{n: [c["before"], c["after"]] for n, c in changes.items()}},
    )
    return change


@transaction.atomic
def policy_change_decide(*, change: PolicyChange, by: User, approve: bool, note: str = "") -> PolicyChange:
    """The medical director signs the change off (it applies now) or declines it."""
    require_prescriber(by, SIGN_OFF, action="Signing off a clinical policy change")
    if not is_medical_director(by):
        raise PrescriberRequired("Signing off a clinical policy change needs the medical director.")
    locked = PolicyChange.objects.select_for_update().get(pk=change.pk)
    if locked.status != PolicyChange.Status.PENDING:
        raise ValidationError("This change has already been decided.")
    note = note.strip()[:300]
    if not approve and not note:
        raise ValidationError({"note": "Say why the change is declined."})
    now = timezone.now()
    if approve:
        _apply(locked, by=by)
    locked.status = PolicyChange.Status.APPLIED if approve else PolicyChange.Status.DECLINED
    locked.decided_by, locked.decided_at, locked.note = by, now, note
    locked.save(update_fields=["status", "decided_by", "decided_at", "note"])
    audit.record(
        actor=by,
        action=f"prescribers.policy_change.{'signed_off' if approve else 'declined'}",
        verb=Verb.UPDATE,
        category=Category.CONFIGURATION,
        target=locked,
        changes={
            "policy": locked.policy_model,
            **{n: [c["before"], c["after"]] for n, c in locked.changes.items()},
            **({"note": note} if note else {}),
        },
    )
    return locked


def _apply(change: PolicyChange, *, by: User) -> None:
    from django.apps import apps

    model = apps.get_model(change.policy_model)
    policy = model.objects.select_for_update().get(pk=change.policy_id)
    names = list(change.changes)
    current = _baseline(policy)
    stale = sorted(
        str(policy._meta.get_field(n).verbose_name) for n, v in change.baseline.items() if current.get(n) != v
    )
    if stale:
        raise ValidationError(
            f"The policy changed since this was proposed ({', '.join(stale)}): decline it and propose again."
        )
    for name, entry in change.changes.items():
        setattr(policy, name, policy._meta.get_field(name).to_python(entry["after"]))
    fields = [*names]
    if any(f.name == "updated_by" for f in model._meta.get_fields()):
        policy.updated_by = by
        fields.append("updated_by")
    if any(f.name == "updated_at" for f in model._meta.get_fields()):
        fields.append("updated_at")
    policy.full_clean()
    policy.save(update_fields=fields)
    audit.record(
        actor=by,
        action=f"{change.policy_model}.updated",
        verb=Verb.UPDATE,
        category=Category.CONFIGURATION,
        target=policy,
        changes={n: [c["before"], c["after"]] for n, c in change.changes.items()},
    )


class SignOffAdminMixin(admin.ModelAdmin):
    """For a clinical policy's ModelAdmin: an edit is saved as a proposal for the medical
    director (the row itself is untouched until the sign-off). Creating the row is not a
    change of policy and saves as usual."""

    def save_model(self, request, obj, form, change):
        from django.contrib import messages

        if not change:
            super().save_model(request, obj, form, change)
            return
        after = {name: form.cleaned_data[name] for name in form.changed_data if name in form.cleaned_data}
        if policy_change_propose(policy=obj, by=request.user, after=after) is not None:
            messages.warning(
                request,
                "Saved as a proposal: the policy changes only when the medical director signs it off "
                "(Clinical policy changes).",
            )
