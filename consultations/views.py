"""Consultation and plan pages. Function views: fetch through access, bind, call a service."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import audit
from accounts.models import AuditEvent
from accounts.prescribing import PrescriberRequired, prescriber_standing
from assessments.instruments import INSTRUMENTS
from consents.models import ConsentKind
from consents.selectors import consent_status
from consultations import rules, selectors, services
from consultations.access import get_consultation_for_user, get_plan_for_user
from consultations.choices import AmendmentSection, PlanStatus, ScheduleMoment
from consultations.forms import (
    SECTIONS,
    AmendmentForm,
    DecisionForm,
    IntakeForms,
    PlanForm,
    PlanTransitionForm,
    StandingOrderForm,
    child_rows,
    default_schedule,
)
from consultations.lifecycle import ORDER_FIELDS, next_statuses
from consultations.models import Consultation
from consultations.plan_checks import completion_problems
from patients.access import get_patient_for_user, require_clinical
from scheduling.access import get_appointment_for_user
from scheduling.models import AppointmentType

# --- Helpers -------------------------------------------------------------------------


def _reloaded(consultation: Consultation) -> Consultation:
    """The consultation read again with everything its page shows (a consultation is never deleted)."""
    fresh = selectors.consultation_detail(consultation.pk)
    if fresh is None:
        raise Http404("This consultation no longer exists.")
    return fresh


@dataclass(frozen=True)
class StoredScreening:
    """A screening as stored (``ScreeningResult.as_dict()``), enough for the decision form."""

    outcome: rules.Outcome
    findings: tuple[rules.Finding, ...]
    rule_set_version: str
    screened_on: str

    @classmethod
    def from_dict(cls, data: dict) -> StoredScreening | None:
        if not data:
            return None
        findings = tuple(
            rules.Finding(
                rule_id=f["rule_id"],
                klass=rules.Klass(f["klass"]),
                fact=f["fact"],
                message=f["message"],
                source=f["source"],
                rule_set_version=f.get("rule_set_version", ""),
                missing_facts=tuple(f.get("missing_facts", ())),
            )
            for f in data.get("findings", [])
        )
        return cls(
            rules.Outcome(data["outcome"]), findings, data.get("rule_set_version", ""), data.get("screened_on", "")
        )


def _querydict(data: dict[str, list[str]]) -> QueryDict:
    qd = QueryDict(mutable=True)
    for key, values in data.items():
        qd.setlist(key, [str(v) for v in values] if isinstance(values, list) else [str(values)])
    return qd


def _crumbs(consultation: Consultation, *tail):
    patient = consultation.patient
    return [
        ("Patients", reverse("patients:list")),
        (patient.display_name, reverse("patients:detail", args=[patient.pk])),
        *tail,
    ]


def _infusion_type_id() -> int | None:
    return AppointmentType.objects.filter(code=AppointmentType.Code.INFUSION).values_list("pk", flat=True).first()


def _series_booking_url(plan, infusion: int | None) -> str:
    """Scheduling's series page pre-filled for the patient and the infusion type."""
    query = {"patient": plan.patient_id, "count": plan.sessions_planned}
    if infusion:
        query["appointment_type"] = infusion
    try:
        return f"{reverse('scheduling:series-new')}?{urlencode(query)}"
    except NoReverseMatch:
        try:
            return reverse("scheduling:calendar")
        except NoReverseMatch:
            return ""


def _intake_context(
    request, consultation: Consultation, *, forms: IntakeForms, decision_form=None, screening=None, draft=False
):
    responses = forms.responses
    medications = list(consultation.medications.all())
    trials = list(consultation.antidepressant_trials.all())
    facts = selectors.intake_facts(consultation, medications=medications, trials=trials, responses=responses)
    stored = screening or StoredScreening.from_dict(consultation.screening)
    stale = bool(stored) and consultation.screened_facts_sha256 != selectors.facts_sha256(facts)
    thresholds = selectors.screening_thresholds()
    sections = [(key, title, [forms.intake[name] for name in _with_unit(names)]) for key, title, names in SECTIONS]
    if draft is False:  # not looked up by the caller
        draft = selectors.draft_for(consultation, request.user)
    return {
        "consultation": consultation,
        "patient": consultation.patient,
        "forms": forms,
        "sections": sections,
        "screening": stored,
        "screening_stale": stale,
        "decision_form": decision_form or (DecisionForm(result=stored) if stored else None),
        "draft": draft,
        "draft_is_behind": draft is not None and draft.base_version != consultation.version,
        "bmi": consultation.bmi,
        "trd_recognised": rules.trd_recognised(facts, thresholds),
        "trd_threshold": thresholds.trd_min_adequate_trials,
        "adequate_trials": facts.prior_adequate_antidepressant_trials,
        "missing_facts": [
            rules.FACT_LABELS[n] for n in rules.missing_facts(facts, thresholds, today=timezone.localdate())
        ],
        "missing_instruments": selectors.missing_instruments(consultation, facts, responses),
        # Informed consent is signed in the consents app (online, on the tablet, or on paper scanned
        # by staff); the intake shows where the patient stands, and signing to proceed asks it.
        "treatment_consent": consent_status(consultation.patient, kinds=[ConsentKind.TREATMENT])[ConsentKind.TREATMENT],
        # Asked as the service asks it: a prescriber without current credentials sees why.
        "can_sign": prescriber_standing(
            request.user, "consultations.sign_consultation", action="Signing the consultation decision"
        ),
        "crumbs": _crumbs(consultation, (f"Intake consultation #{consultation.pk}", None)),
    }


def _display(consultation: Consultation, name: str) -> tuple[str, str]:
    """(label, text) of one recorded intake field, as the record shows it."""
    field = cast(models.Field, consultation._meta.get_field(name))  # an intake column, never a relation
    value = getattr(consultation, name)
    if name == "indications":
        text = "; ".join(consultation.indication_labels)
    elif value is None:
        text = "Not recorded"
    elif isinstance(value, bool):
        text = "Yes" if value else "No"
    elif field.choices:
        text = getattr(consultation, f"get_{name}_display")()
    elif hasattr(value, "strftime"):
        text = value.strftime("%m/%d/%Y")
    else:
        text = str(value)
    return str(field.verbose_name[:1].upper() + field.verbose_name[1:]), text or "—"


def _with_unit(names: list[str]) -> list[str]:
    """The section's fields, with the weight's unit selector beside the weight."""
    return [n for name in names for n in ((name, "weight_unit") if name == "weight_kg" else (name,))]


def _signed_context(request, consultation: Consultation):
    responses = selectors.baseline_responses(consultation)
    amendments = defaultdict(list)
    for amendment in consultation.amendments.all():
        amendments[amendment.section].append(amendment)
    sections = [
        (key, title, [_display(consultation, name) for name in names], amendments[key])
        for key, title, names in SECTIONS
    ]
    return {
        "consultation": consultation,
        "patient": consultation.patient,
        "sections": sections,
        "responses": sorted(responses.values(), key=lambda r: r.instrument),
        "instrument_amendments": amendments[AmendmentSection.INSTRUMENTS],
        "decision_amendments": amendments[AmendmentSection.DECISION],
        "other_amendments": amendments[AmendmentSection.OTHER],
        "screening": StoredScreening.from_dict(consultation.screening),
        "verified": selectors.verify_signature(consultation, responses=responses),
        "plans": list(consultation.plans.all()),
        "can_plan": consultation.is_signed
        and consultation.decision in ("eligible", "eligible_override")
        and prescriber_standing(
            request.user, "consultations.add_treatmentplan", action="Writing a treatment plan (the standing order)"
        ),
        "crumbs": _crumbs(consultation, (f"Intake consultation #{consultation.pk}", None)),
    }


def _show_service_error(form, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.message_dict.items():
        for message in errors:
            form.add_error(field if field in form.fields else None, message)


# --- Opening -------------------------------------------------------------------------


@require_POST
def consultation_open(request, appointment_id: int):
    require_clinical(request, "consultations.add_consultation", patient_id=None)  # writing: roles only
    appointment = get_appointment_for_user(request, appointment_id)
    try:
        consultation = services.consultation_open(appointment=appointment, by=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("home")
    return redirect("consultations:detail", consultation_id=consultation.pk)


@require_POST
def consultation_start(request, patient_id: int):
    require_clinical(request, "consultations.add_consultation", patient_id=patient_id)
    patient = get_patient_for_user(request, patient_id)
    consultation = services.consultation_start(patient=patient, by=request.user)
    return redirect("consultations:detail", consultation_id=consultation.pk)


# --- The intake page -----------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def consultation_detail(request, consultation_id: int):
    consultation = get_consultation_for_user(request, consultation_id)
    editable = not consultation.is_signed and request.user.has_perm("consultations.change_consultation")
    if request.method == "POST":
        if not editable:
            raise PermissionDenied
        return _post_intake(request, consultation)
    services.consultation_viewed(consultation=consultation, by=request.user)
    if not editable:
        return render(request, "consultations/consultation_record.html", _signed_context(request, consultation))
    draft = selectors.draft_for(consultation, request.user)
    forms = IntakeForms(
        consultation,
        data=_querydict(draft.data) if draft else None,
        responses=selectors.baseline_responses(consultation),
    )
    context = _intake_context(request, consultation, forms=forms, draft=draft)
    return render(request, "consultations/consultation_form.html", context)


def _post_intake(request, consultation: Consultation):
    """Save what validates; then screen or sign if asked and everything validated."""
    action = request.POST.get("action", "save")
    forms = IntakeForms(consultation, data=request.POST, responses=selectors.baseline_responses(consultation))
    complete = forms.is_valid()
    try:
        expected = int(request.POST.get("version", ""))
    except ValueError:
        expected = -1
    try:
        outcome = services.consultation_save(
            consultation=consultation,
            by=request.user,
            expected_version=expected,
            changes=forms.intake.valid_changes(),
            medications=child_rows(forms.medications) if forms.medications.is_valid() else None,
            trials=child_rows(forms.trials) if forms.trials.is_valid() else None,
            instruments=forms.instrument_answers(),
            complete=complete,
        )
    except services.ConsultationSigned as exc:
        messages.error(request, exc.messages[0])
        return redirect("consultations:detail", consultation_id=consultation.pk)
    except (services.StaleConsultation, ValidationError) as exc:
        return _redisplay(request, consultation, request.POST, errors=exc.messages)
    if not complete:
        return _redisplay(request, consultation, request.POST, saved=outcome.changed)
    if action == "screen":
        result = services.consultation_screen(consultation=outcome.consultation, by=request.user)
        messages.info(request, f"Screening: {result.outcome.value.replace('_', ' ')}.")
        return redirect(reverse("consultations:detail", args=[consultation.pk]) + "#screening")
    if action == "sign":
        return _sign(request, outcome.consultation)
    messages.success(request, "Saved." if outcome.changed else "No changes to save.")
    return redirect("consultations:detail", consultation_id=consultation.pk)


def _redisplay(request, consultation, data, *, errors=(), saved=()):
    """Show the page again with the user's input and its errors; keep the input in the draft."""
    fresh = _reloaded(consultation)
    data = data.copy()
    data["version"] = str(fresh.version)
    services.consultation_draft_save(consultation=fresh, by=request.user, data=dict(data.lists()))
    forms = IntakeForms(fresh, data=data, responses=selectors.baseline_responses(fresh))
    forms.is_valid()
    for message in errors:
        forms.intake.add_error(None, message)
    if errors and (differs := forms.intake.differences()):
        forms.intake.add_error(None, "Your input differs from the saved record in: " + "; ".join(differs) + ".")
    if saved:
        messages.info(request, "The parts without errors were saved; fix the fields marked below.")
    context = _intake_context(request, fresh, forms=forms)
    return render(request, "consultations/consultation_form.html", context, status=200)


def _justifications_from(data) -> dict[str, str]:
    prefix = "sign-justify_"
    return {key[len(prefix) :].replace("_", "-"): value for key, value in data.items() if key.startswith(prefix)}


def _sign(request, consultation: Consultation):
    if not request.user.has_perm("consultations.sign_consultation"):
        raise PermissionDenied
    try:
        services.consultation_screen(consultation=consultation, by=request.user)
        services.consultation_sign(
            consultation=consultation,
            by=request.user,
            decision=request.POST.get("sign-decision", ""),
            decision_note=request.POST.get("sign-decision_note", "")[:4000],
            justifications=_justifications_from(request.POST),
        )
    except services.SignRefused as exc:
        fresh = _reloaded(consultation)
        forms = IntakeForms(fresh, responses=selectors.baseline_responses(fresh))
        decision_form = DecisionForm(request.POST, result=exc.result)
        decision_form.is_valid()
        decision_form.show_problems(exc.problems)
        context = _intake_context(request, fresh, forms=forms, decision_form=decision_form, screening=exc.result)
        context["screening_stale"] = False
        return render(request, "consultations/consultation_form.html", context)
    except PrescriberRequired as exc:  # the role without current credentials: say why
        messages.error(request, str(exc))
        return redirect("consultations:detail", consultation_id=consultation.pk)
    messages.success(request, "Signed. The consultation is locked; corrections are amendments.")
    return redirect("consultations:detail", consultation_id=consultation.pk)


@require_POST
def consultation_draft(request, consultation_id: int):
    """Autosave (htmx): keep the raw input server-side, whatever it contains."""
    consultation = get_consultation_for_user(
        request, consultation_id, perm="consultations.change_consultation", detail=False
    )
    try:
        draft = services.consultation_draft_save(
            consultation=consultation, by=request.user, data=dict(request.POST.lists())
        )
    except services.ConsultationSigned:
        return HttpResponse("Signed: changes are not saved here.", status=409, content_type="text/plain")
    except services.StalePage as exc:
        return HttpResponse(exc.messages[0], status=409, content_type="text/plain")
    saved = timezone.localtime(draft.saved_at)
    return render(request, "consultations/_autosave_status.html", {"saved_at": saved})


# --- Amendments ----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def consultation_amend(request, consultation_id: int):
    consultation = get_consultation_for_user(request, consultation_id, perm="consultations.add_amendment")
    if not consultation.is_signed:
        messages.info(request, "A draft is edited directly; amendments are for signed consultations.")
        return redirect("consultations:detail", consultation_id=consultation.pk)
    form = AmendmentForm(request.POST or None, initial={"section": request.GET.get("section", "")[:20]})
    if request.method == "POST" and form.is_valid():
        try:
            services.amendment_add(consultation=consultation, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Amendment recorded beside the signed original.")
            return redirect("consultations:detail", consultation_id=consultation.pk)
    crumbs = _crumbs(
        consultation,
        (f"Intake consultation #{consultation.pk}", reverse("consultations:detail", args=[consultation.pk])),
        ("Amend", None),
    )
    audit.record_page_opened(
        request,
        action="consultations.amendment_form.viewed",
        category=AuditEvent.Category.CLINICAL,
        target=consultation,
        patient=consultation.patient,
    )
    return render(
        request, "consultations/amendment_form.html", {"form": form, "consultation": consultation, "crumbs": crumbs}
    )


# --- Plans ---------------------------------------------------------------------------


def _plan_initial(consultation: Consultation) -> dict:
    indication = consultation.indications[0] if consultation.indications else ""
    protocol = selectors.active_protocols(indication).first() if indication else None
    initial: dict[str, Any] = {"indication": indication, **default_schedule(indication)}
    if protocol is not None:
        initial.update(
            protocol=protocol.pk,
            dose=protocol.dose_min,
            infusion_minutes=protocol.infusion_minutes,
            sessions_planned=protocol.sessions,
            sessions_per_week=protocol.sessions_per_week,
            weight_basis=protocol.default_weight_basis,
        )
    return initial


@require_http_methods(["GET", "POST"])
def plan_create(request, consultation_id: int):
    consultation = get_consultation_for_user(request, consultation_id, perm="consultations.add_treatmentplan")
    form = PlanForm(request.POST or None, consultation=consultation, initial=_plan_initial(consultation))
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k not in ("pre_infusion", "post_infusion", "follow_up")}
        try:
            plan = services.plan_create(consultation=consultation, by=request.user, **data)
        except ValidationError as exc:
            _show_service_error(form, exc)
        except PrescriberRequired as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Treatment plan created as a draft: activate it when ready to book.")
            return redirect("consultations:plan-detail", plan_id=plan.pk)
    crumbs = _crumbs(
        consultation,
        (f"Intake consultation #{consultation.pk}", reverse("consultations:detail", args=[consultation.pk])),
        ("New treatment plan", None),
    )
    context = {
        "form": form,
        "consultation": consultation,
        "protocols": selectors.active_protocols(),
        "refused": not consultation.is_signed or consultation.decision not in ("eligible", "eligible_override"),
        "crumbs": crumbs,
    }
    audit.record_page_opened(
        request,
        action="consultations.plan_form.viewed",
        category=AuditEvent.Category.CLINICAL,
        target=consultation,
        patient=consultation.patient,
    )
    return render(request, "consultations/plan_form.html", context)


def _schedule_rows(plan) -> list[tuple[str, list[str]]]:
    """(moment label, instrument short names) in the order an infusion happens."""

    def short(code: str) -> str:
        name = INSTRUMENTS[code].name if code in INSTRUMENTS else code
        return name[name.rfind("(") + 1 : -1] if name.endswith(")") else name

    return [
        (moment.label, [short(c) for c in plan.measurement_schedule.get(moment.value, [])]) for moment in ScheduleMoment
    ]


def _order_form(plan, current, data=None):
    """A prescriber's form for the next version, filled from the one in force; None when the
    plan takes no new order (draft: activation signs version 1; completed or discontinued)."""
    if current is None or plan.status in (PlanStatus.DRAFT, PlanStatus.COMPLETED, PlanStatus.DISCONTINUED):
        return None
    initial = {name: getattr(current, name) for name in ORDER_FIELDS}
    return StandingOrderForm(data=data, initial=initial)


@require_GET
def plan_detail(request, plan_id: int):
    plan = get_plan_for_user(request, plan_id)
    services.plan_viewed(plan=plan, by=request.user)
    return _plan_page(request, plan)


def _offered_transitions(plan) -> list[tuple[str, str]]:
    """The plan's next moves, less "Mark induction completed" while no infusion was given."""
    moves = next_statuses(plan.status)
    if any(to == PlanStatus.COMPLETED for to, _ in moves) and completion_problems(plan):
        moves = [(to, label) for to, label in moves if to != PlanStatus.COMPLETED]
    return moves


def _plan_page(request, plan, order_form=None):
    versions = selectors.order_versions(plan)
    current = next((v for v in versions if v.superseded_at is None), None)
    may_sign = prescriber_standing(
        request.user, "consultations.change_treatmentplan", action="Signing a new version of the standing order"
    )
    context = {
        "order_standing": may_sign,
        "orders": versions,
        "current_order": current,
        "order_form": (order_form or _order_form(plan, current)) if may_sign else None,
        "plan": plan,
        "patient": plan.patient,
        "transitions": _offered_transitions(plan) if may_sign else [],
        "schedule": _schedule_rows(plan),
        "ready_to_book": selectors.plan_is_ready_to_book(plan),
        "series_url": _series_booking_url(plan, _infusion_type_id()),
        "crumbs": _crumbs(
            plan.consultation,
            (
                f"Intake consultation #{plan.consultation_id}",
                reverse("consultations:detail", args=[plan.consultation_id]),
            ),
            (f"Treatment plan #{plan.pk}", None),
        ),
    }
    return render(request, "consultations/plan_detail.html", context)


@require_POST
def plan_order(request, plan_id: int):
    """A prescriber signs a new version of the standing order (only the changed fields move)."""
    plan = get_plan_for_user(request, plan_id, perm="consultations.change_treatmentplan")
    current = selectors.current_order(plan)
    form = _order_form(plan, current, data=request.POST)
    if form is None:
        messages.error(request, "This plan takes no new order now.")
        return redirect("consultations:plan-detail", plan_id=plan.pk)
    if form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name != "reason"}
        try:
            order = services.order_sign(plan=plan, by=request.user, reason=form.cleaned_data["reason"], changes=changes)
        except (ValidationError, PrescriberRequired) as exc:
            _show_service_error(form, exc if isinstance(exc, ValidationError) else ValidationError(str(exc)))
        else:
            messages.success(request, f"Standing order v{order.number} signed; it applies from the next infusion.")
            return redirect("consultations:plan-detail", plan_id=plan.pk)
    return _plan_page(request, plan, order_form=form)  # the page again, with what was typed


@require_POST
def plan_transition(request, plan_id: int):
    plan = get_plan_for_user(request, plan_id, perm="consultations.change_treatmentplan")
    form = PlanTransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a status.")
        return redirect("consultations:plan-detail", plan_id=plan.pk)
    try:
        services.plan_transition(
            plan=plan,
            to_status=form.cleaned_data["to_status"],
            by=request.user,
            reason=form.cleaned_data["reason"],
            expected_version=form.cleaned_data["version"],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except PrescriberRequired as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Plan {PlanStatus(form.cleaned_data['to_status']).label.lower()}.")
    return redirect("consultations:plan-detail", plan_id=plan.pk)


# --- Panels and lists ----------------------------------------------------------------


@require_GET
def patient_panel(request, patient_id: int):
    """The patient page's consultations tab (htmx-loaded)."""
    require_clinical(request, "consultations.view_consultation", patient_id=patient_id)
    patient = get_patient_for_user(request, patient_id)
    services.patient_panel_viewed(patient=patient, by=request.user)
    context = {"patient": patient, **selectors.patient_panel(patient)}
    return render(request, "consultations/_patient_panel.html", context)


@require_GET
@permission_required("consultations.view_plan_booking_status", raise_exception=True)
@audit.audited_query("consultations.ready_to_book.viewed", AuditEvent.Category.SCHEDULING)
def ready_to_book(request):
    """Front desk: plans ready to book as a series. Booking facts only, no clinical content."""
    plans = selectors.plans_ready_to_book(user=request.user)
    infusion = _infusion_type_id()
    rows = [(plan, _series_booking_url(plan, infusion)) for plan in plans]
    return render(
        request,
        "consultations/ready_to_book.html",
        {"rows": rows, "crumbs": [("Ready to book", None)]},
    )
