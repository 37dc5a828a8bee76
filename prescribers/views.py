"""The clinical policy changes awaiting the medical director, and their sign-off."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.prescribing import PrescriberRequired, prescriber_standing
from prescribers import policy, selectors
from prescribers.forms import PolicyDecisionForm
from prescribers.models import PolicyChange

VIEW = "prescribers.view_policychange"


def _page(request, *, form=None, form_for: int | None = None, status: int = 200):
    return render(
        request,
        "prescribers/policy_changes.html",
        {
            "changes": selectors.policy_changes(limit=50),
            # Asked as the service asks it: a medical director whose licence or DEA
            # registration is not current sees why instead of a form that would refuse.
            "may_decide": selectors.is_medical_director(request.user)
            and prescriber_standing(request.user, policy.SIGN_OFF, action="Signing off a clinical policy change"),
            "form": form,
            "form_for": form_for,
        },
        status=status,
    )


@require_GET
def policy_changes(request):
    if not request.user.has_perm(VIEW):
        raise PermissionDenied
    return _page(request)


@require_POST
def policy_change_decide(request, change_id: int):
    if not request.user.has_perm(policy.SIGN_OFF):
        raise PermissionDenied
    change = get_object_or_404(PolicyChange, pk=change_id)
    form = PolicyDecisionForm(request.POST)
    if form.is_valid():
        approve = form.cleaned_data["decision"] == "sign_off"
        try:
            policy.policy_change_decide(change=change, by=request.user, approve=approve, note=form.cleaned_data["note"])
        except ValidationError as error:
            for field, errors in getattr(error, "message_dict", {None: error.messages}).items():
                form.add_error(field if field in form.fields else None, errors)
        except PrescriberRequired as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, "Signed off: the policy now applies." if approve else "Declined.")
            return redirect("prescribers:policy-changes")
    return _page(request, form=form, form_for=change.pk)
