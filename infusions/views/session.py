"""The chair-side session page and its POST actions."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.prescribing import PrescriberRequired
from assessments.forms import instrument_form
from infusions import forms, rules, services
from infusions.access import CHANGE, get_session_for_user
from infusions.models import AdverseEvent, DoseCalculation, SessionAlert
from infusions.selectors import sessions as session_selectors
from infusions.views._page import flowsheet_context, session_context
from patients.access import require_clinical
from scheduling.models import Appointment

S = rules.SessionStatus
PAGE = "infusions/session_detail.html"


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        aliases = getattr(form, "error_aliases", {})  # a service's key → the form's field
        for field, messages in error.message_dict.items():
            field = aliases.get(field, field)
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


def _page(request, session_id: int, status: int = 200, **overrides):
    session = session_selectors.session_detail(session_id)
    return render(request, PAGE, session_context(session, user=request.user, **overrides), status=status)


def _url(session, anchor: str = "") -> str:
    return reverse("infusions:session", args=[session.pk]) + (f"#{anchor}" if anchor else "")


def _handle(request, session_id: int, form, key: str, call: Callable, *, anchor: str = "", perm: str = CHANGE):
    """Bind, call one service, redirect; on refusal re-show the page with the input kept."""
    session = get_session_for_user(request, session_id, perm=perm)
    if form.is_valid():
        try:
            call(session, form.cleaned_data)
            return redirect(_url(session, anchor))
        except ValidationError as error:
            _add_errors(form, error)
        except PrescriberRequired as refusal:
            form.add_error(None, str(refusal))
    return _page(request, session_id, status=200, **{key: form})


@require_POST
def session_open(request, appointment_id: int):
    require_clinical(request, CHANGE, patient_id=None)  # writing: roles only
    appointment = Appointment.objects.select_related("patient", "appointment_type").filter(pk=appointment_id).first()
    if appointment is None:
        raise Http404
    # and within the user's locations (a role alone opens only those charts)
    require_clinical(request, CHANGE, patient_id=appointment.patient_id)
    try:
        session = services.session_open(appointment=appointment, by=request.user)
    except ValidationError as error:
        return render(
            request, "infusions/open_refused.html", {"appointment": appointment, "errors": error.messages}, status=200
        )
    return redirect(_url(session))


@require_GET
def session_detail(request, session_id: int):
    session = get_session_for_user(request, session_id, detail=True)
    services.session_viewed(session=session, by=request.user)
    # The status and the Discharge button follow the criteria as of now (the observation
    # time ends with nothing posted): computed in the context, not written by this GET
    # (``recovery_selectors.shown_status`` says why).
    return render(
        request,
        PAGE,
        session_context(session, user=request.user, adverse_requested=request.GET.get("add") == "adverse"),
    )


@require_POST
def session_check_in(request, session_id: int):
    session = get_session_for_user(request, session_id, perm=CHANGE)
    try:
        services.session_check_in(session=session, by=request.user)
    except ValidationError as error:
        return _page(request, session_id, status=200, action_errors=error.messages)
    return redirect(_url(session, "precheck"))


@require_POST
def request_prescriber(request, session_id: int):
    session = get_session_for_user(request, session_id, perm=CHANGE)
    try:
        services.prescriber_request(session=session, by=request.user)
    except ValidationError as error:
        return _page(request, session_id, status=200, action_errors=error.messages)
    return redirect(_url(session, "precheck"))


@require_POST
def instrument(request, session_id: int, code: str):
    if code not in ("phq9", "cssrs_screen", *rules.DISCHARGE_SCORE_CODES):
        raise Http404
    form = instrument_form(code, request.POST)

    def call(session, data):
        if data.get("answers") is None:
            raise ValidationError("Answer the questionnaire.")
        services.instrument_record(session=session, by=request.user, code=code, answers=data["answers"])
        if code in ("phq9", "cssrs_screen") and session_selectors._has_pre_check(session):
            # Re-judge the checklist with today's answers.
            check = session.pre_check
            data = {name: getattr(check, name) for name in services.precheck.PRECHECK_FIELDS}
            services.precheck_record(session=session, by=request.user, data=data)

    anchor = "recovery" if code in rules.DISCHARGE_SCORE_CODES else "precheck"
    key = "score_form" if code in rules.DISCHARGE_SCORE_CODES else "pre_form_error"
    return _handle(request, session_id, form, key, call, anchor=anchor)


@require_POST
def precheck(request, session_id: int):
    form = forms.PreCheckForm(request.POST)
    return _handle(
        request,
        session_id,
        form,
        "precheck_form",
        lambda s, d: services.precheck_record(session=s, by=request.user, data=d),
        anchor="precheck",
    )


@require_POST
def clear(request, session_id: int):
    form = forms.DecisionForm(request.POST)
    return _handle(
        request,
        session_id,
        form,
        "decision_form",
        lambda s, d: services.precheck_clear(session=s, by=request.user, decision_reason=d["decision_reason"]),
        anchor="dose",
    )


@require_POST
def defer(request, session_id: int):
    form = forms.DeferForm(request.POST)
    return _handle(
        request,
        session_id,
        form,
        "defer_form",
        lambda s, d: services.precheck_defer(
            session=s, by=request.user, reason_code=d["reason_code"], reason=d["reason"]
        ),
    )


@require_POST
def dose(request, session_id: int):
    form = forms.DoseForm(request.POST)
    return _handle(
        request,
        session_id,
        form,
        "dose_form",
        lambda s, d: services.dose_calculate(
            session=s, by=request.user, vial_mg_per_ml=d["vial_mg_per_ml"], diluent_ml=d["diluent_ml"]
        ),
        anchor="dose",
    )


@require_POST
def dose_verify(request, session_id: int, dose_id: int):
    session = get_session_for_user(request, session_id, perm="infusions.verify_dose")
    calculation = DoseCalculation.objects.filter(pk=dose_id, session=session).first()
    if calculation is None:
        raise Http404
    try:
        services.dose_verify(calculation=calculation, by=request.user, fingerprint=request.POST.get("fingerprint", ""))
    except ValidationError as error:
        return _page(request, session_id, status=200, verify_errors=error.messages)
    except PrescriberRequired as refusal:
        return _page(request, session_id, status=200, verify_errors=[str(refusal)])
    return redirect(_url(session, "dose"))


@require_POST
def transition(request, session_id: int):
    form = forms.TransitionForm(request.POST)
    return _handle(
        request,
        session_id,
        form,
        "transition_form",
        lambda s, d: services.session_transition(
            session=s,
            to=d["to"],
            by=request.user,
            reason_code=d["reason_code"],
            reason=d["reason"],
            container_lot=d["container_lot"],
            planned_dose_delivered=d["planned_dose_delivered"],
        ),
        anchor="status",
    )


@require_POST
def reading(request, session_id: int):
    """Quick vitals entry; htmx swaps in the refreshed flowsheet (table, chart, next due)."""
    session = get_session_for_user(request, session_id, perm=CHANGE)
    form = forms.ReadingForm(request.POST)
    shown: forms.ReadingForm | None = form  # None once the reading is stored (a fresh form then)
    status = 200
    if form.is_valid():
        try:
            services.reading_record(
                session=session,
                by=request.user,
                taken_at=form.cleaned_data["taken_at"],
                values=form.values(),
                confirmed=form.cleaned_data["confirmed"],
            )
            shown = None
        except ValidationError as error:
            form.needs_confirmation = isinstance(error, services.ReadingNeedsConfirmation)
            _add_errors(form, error)
            status = 200
    else:
        status = 200
    if not request.htmx:
        if shown is None:
            return redirect(_url(session, "flowsheet"))
        return _page(request, session_id, status=status, reading_form=shown)
    fresh = session_selectors.session_detail(session_id)
    # htmx swaps 200s only: a refused reading comes back 200 with its field errors shown.
    return render(request, "infusions/_flowsheet.html", flowsheet_context(fresh, reading_form=shown))


def _row_action(request, session_id: int, model, row_id: int, form, key: str, call: Callable, *, anchor: str):
    """A form about one row of the session (an alert, an adverse event): the row must belong
    to the session (404 otherwise); on refusal the page again with the form's errors at that row."""
    session = get_session_for_user(request, session_id, perm=CHANGE)
    row = model.objects.filter(pk=row_id, session=session).first()
    if row is None:
        raise Http404
    if form.is_valid():
        try:
            call(row, form.cleaned_data)
            return redirect(_url(session, anchor))
        except ValidationError as error:
            _add_errors(form, error)
    return _page(request, session_id, status=200, **{f"{key}_form": form, f"{key}_form_for": row.pk})


@require_POST
def alert_action(request, session_id: int, infusion_alert_id: int):
    return _row_action(
        request,
        session_id,
        SessionAlert,
        infusion_alert_id,
        forms.AlertActionForm(request.POST),
        "alert",
        lambda alert, d: services.alert_action(alert=alert, by=request.user, action=d["action"], note=d["note"]),
        anchor="flowsheet",
    )


@require_POST
def adverse_event(request, session_id: int):
    form = forms.AdverseEventForm(request.POST)
    return _handle(
        request,
        session_id,
        form,
        "adverse_form",
        lambda s, d: services.adverse_event_record(
            session=s,
            by=request.user,
            kind=d["kind"],
            kind_other=d["kind_other"],
            severity=d["severity"],
            onset_at=d["onset_at"],
            action_taken=d["action_taken"],
            outcome=d["outcome"],
            handover_note=d["handover_note"],
            drugs=form.drugs(),
        ),
        anchor="adverse",
    )


@require_POST
def adverse_event_outcome(request, session_id: int, adverse_event_id: int):
    return _row_action(
        request,
        session_id,
        AdverseEvent,
        adverse_event_id,
        forms.AdverseEventOutcomeForm(request.POST),
        "outcome",
        lambda event, d: services.adverse_event_outcome(
            event=event, by=request.user, outcome=d["outcome"], note=d["note"]
        ),
        anchor="adverse",
    )


@require_POST
def discharge_details(request, session_id: int):
    form = forms.DischargeForm(request.POST)
    return _handle(
        request,
        session_id,
        form,
        "discharge_form",
        lambda s, d: services.discharge_details_record(session=s, by=request.user, **d),
        anchor="recovery",
    )


@require_POST
def sign(request, session_id: int):
    session = get_session_for_user(request, session_id, perm="infusions.sign_infusionsession")
    try:
        services.session_sign(session=session, by=request.user)
    except ValidationError as error:
        return _page(request, session_id, status=200, sign_errors=error.messages)
    return redirect(_url(session, "sign"))


@require_POST
def amend(request, session_id: int):
    form = forms.AmendmentForm(request.POST)
    return _handle(
        request,
        session_id,
        form,
        "amendment_form",
        lambda s, d: services.amendment_add(session=s, by=request.user, **d),
        anchor="amendments",
        perm="infusions.add_sessionamendment",
    )


@require_POST
def rate_change(request, session_id: int):
    form = forms.RateChangeForm(request.POST)
    return _handle(
        request,
        session_id,
        form,
        "rate_form",
        lambda s, d: services.rate_change_record(
            session=s,
            by=request.user,
            rate_ml_per_h=d["rate_ml_per_h"],
            reason=d["reason"],
            order_text=d["order_text"],
        ),
        anchor="status",
    )
