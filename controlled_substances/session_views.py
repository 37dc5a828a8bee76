"""The ledger panel on the infusion session page (htmx): choose a vial, draw the dose, and
at the end record what was left of the draw with a witness. Every response is the panel."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from controlled_substances import forms, selectors, services
from controlled_substances.access import MANAGE, RECORD, handles_drug, require
from controlled_substances.models import LedgerEntry
from infusions.models import InfusionSession
from infusions.selectors.sessions import current_dose
from patients.access import CLINICAL, get_chart_object

# The dose is drawn before the start (the start gate checks the draw); what is left of a
# draw is wasted whenever the session ends, deferred or stopped included, until it is signed.
DRAW_STATUSES = set(services.DRAW_STATUSES)


def _session(request, pk: int, *, handling: bool = False):
    # Roles only: the ledger records administrations, which a break-glass grant never does;
    # drawing and wasting for a patient is a clinician's (a superuser's blanket grant does not count).
    if handling:
        if not handles_drug(request.user):
            raise PermissionDenied
    else:
        require(request, RECORD, MANAGE)

    return get_chart_object(
        request,
        lambda: InfusionSession.objects.select_related("patient", "appointment").filter(pk=pk).first(),
        CLINICAL,
        missing="No such infusion session.",
    )


def _dose(session):
    return current_dose(session)


def _panel(request, session, *, draw_form=None, waste_forms=None, waste_refusal=""):
    dose = _dose(session)
    # Only vials held under the DEA registration of the location where the infusion is given.
    containers = selectors.containers_for_draw(on=timezone.localdate(), location_id=session.appointment.location_id)
    if dose is not None:
        containers = containers.filter(lot__product__concentration_mg_per_ml=dose.vial_mg_per_ml)
    accounts = selectors.draw_accounts(session)
    draws = [(a.entry, a.closed, a.wasted_mg) for a in accounts]
    waste_forms = waste_forms or {}
    # A draw stays open for waste until every milligram is accounted for (delivered + wasted).
    open_draws = [
        (a.entry, waste_forms.get(a.entry.pk) or forms.DrawWasteForm(user=request.user, prefix=f"w{a.entry.pk}"))
        for a in accounts
        if not a.balanced
    ]
    context = {
        "session": session,
        "dose": dose,
        "editable": session.status in DRAW_STATUSES,
        "closable": not session.is_signed,
        "draws": draws,
        "accounts": accounts,
        "delivered_mg": session.delivered_mg,
        "open_draws": open_draws,
        "draw_form": draw_form
        or forms.DrawForm(containers=containers, initial={"volume_ml": dose.drug_volume_ml if dose else None}),
        "problems": selectors.session_sign_problems(session),
        "waste_refusal": waste_refusal,
    }
    # Always 200: htmx does not swap 4xx responses, and the form errors must show in the panel.
    return render(request, "controlled_substances/_session_panel.html", context)


@require_GET
def session_panel(request, pk: int):
    return _panel(request, _session(request, pk))


@require_POST
def session_draw(request, pk: int):
    session = _session(request, pk, handling=True)
    if session.status not in DRAW_STATUSES:
        raise PermissionDenied
    dose = _dose(session)
    # Only vials held under the DEA registration of the location where the infusion is given.
    containers = selectors.containers_for_draw(on=timezone.localdate(), location_id=session.appointment.location_id)
    if dose is not None:
        containers = containers.filter(lot__product__concentration_mg_per_ml=dose.vial_mg_per_ml)
    form = forms.DrawForm(request.POST, containers=containers)
    if form.is_valid():
        try:
            services.session_draw_record(
                session=session,
                container=form.cleaned_data["container"],
                volume_ml=form.cleaned_data["volume_ml"],
                request_key=form.cleaned_data["request_key"],
                by=request.user,
                at=timezone.now(),
            )
        except (services.LedgerError, ValidationError) as exc:
            form.add_error(None, exc)
        else:
            return _panel(request, session)
    return _panel(request, session, draw_form=form)


@require_POST
def session_waste(request, pk: int):
    session = _session(request, pk, handling=True)
    if session.is_signed:
        raise PermissionDenied
    draw_id = request.POST.get("draw", "")
    # ASCII digits of a plausible length: "²" or a 30-digit id would fail in int() or in the database.
    draw_pk = int(draw_id) if draw_id.isascii() and draw_id.isdigit() and len(draw_id) < 12 else 0
    draw = (
        LedgerEntry.objects.select_related("container", "reversed_by")
        .filter(pk=draw_pk, session=session, kind="administration")
        .first()
    )
    if draw is None:  # no draw posted, or one that is not a draw of this session: nothing is written
        return _panel(request, session, waste_refusal="Choose the draw the waste is from.")
    form = forms.DrawWasteForm(request.POST, user=request.user, prefix=f"w{draw.pk}")
    if form.is_valid():
        try:
            services.waste_record(
                of_draw=draw,
                volume_ml=form.cleaned_data["volume_ml"],
                left_in=form.cleaned_data["left_in"],
                witness=form.cleaned_data.get("witness"),
                manner=form.cleaned_data["manner"],
                request_key=form.cleaned_data["request_key"],
                by=request.user,
                at=timezone.now(),
            )
        except services.LedgerError as exc:
            _add_errors(form, exc)
        else:
            return _panel(request, session)
    return _panel(request, session, waste_forms={draw.pk: form})


def _add_errors(form, exc: ValidationError) -> None:
    """A refusal naming a field shows at that field; any other above the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)
