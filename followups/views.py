"""Staff pages of the follow-up stage. Function views: fetch through access, bind, call a service."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import audit
from accounts.models import AuditEvent
from accounts.prescribing import PrescriberRequired, prescriber_standing
from assessments.forms import instrument_form
from assessments.selectors import current_responses_for
from core.formatting import clock
from followups import selectors, services
from followups.access import get_alert_for_user, get_suggestion_for_user, get_visit_for_user
from followups.forms import AcknowledgeForm, AmendForm, DecideForm, SendLinkForm, SignForm, VisitNoteForm
from followups.services.boosters import DECIDE as BOOSTER_DECIDE
from patients.access import can_view_clinical, get_patient_for_user, require_clinical
from scheduling.models import Appointment, AppointmentType

# PHQ-9 and GAD-7 at every visit; MADRS and QIDS-SR16 when the clinician administers them
# (left blank = not administered). Every one's suicide item reaches the one safety alert.
VISIT_INSTRUMENTS_DEFAULT = ("phq9", "gad7", "madrs", "qids_sr16")


def _errors_to_form(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _crumbs(patient, *tail):
    return [
        ("Patients", reverse("patients:list")),
        (patient.display_name, reverse("patients:detail", args=[patient.pk])),
        *tail,
    ]


# --- Patient panel, outcomes, sending a questionnaire ------------------------------------


@require_GET
def patient_panel(request, patient_id: int):
    """htmx panel. Clinicians: notes, suggestions, alerts; front desk: only outstanding questionnaires."""
    patient = get_patient_for_user(request, patient_id)
    if not can_view_clinical(request.user, patient_id=patient.pk):
        return render(
            request,
            "followups/_patient_panel_desk.html",
            {"patient": patient, "links": selectors.outstanding_links(patient=patient, limit=10)},
        )
    require_clinical(request, "followups.view_followupvisit", patient_id=patient.pk)
    services.patient_panel_viewed(patient=patient, by=request.user)
    return render(request, "followups/_patient_panel.html", {"patient": patient, **selectors.patient_panel(patient)})


@require_GET
def outcomes(request, patient_id: int):
    require_clinical(request, "assessments.view_instrumentresponse", patient_id=patient_id)
    patient = get_patient_for_user(request, patient_id)
    traj = selectors.trajectory(patient)
    plan, course = selectors.plan_course(patient)
    services.patient_panel_viewed(patient=patient, by=request.user)
    return render(
        request,
        "followups/outcomes_detail.html",
        {
            "patient": patient,
            "traj": traj,
            "chart": selectors.chart_svg(traj),
            "plan": plan,
            "course": course,
            "crumbs": _crumbs(patient, ("Outcomes", None)),
        },
    )


@require_http_methods(["GET", "POST"])
def link_send(request, patient_id: int):
    require_clinical(request, "followups.add_questionnairelink", patient_id=patient_id)
    patient = get_patient_for_user(request, patient_id)
    form = SendLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            new = services.link_create(
                patient=patient,
                codes=form.cleaned_data["codes"],
                context=form.cleaned_data["context"],
                by=request.user,
            )
            channels = services.link_send(new=new, base_url=request.build_absolute_uri("/"), by=request.user)
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, f"Questionnaire link sent by {', '.join(channels)}.")
            return redirect("patients:detail", patient.pk)
    audit.record_page_opened(
        request,
        action="followups.link_form.viewed",
        category=AuditEvent.Category.CLINICAL,
        target=patient,
        patient=patient,
    )
    return render(
        request,
        "followups/link_form.html",
        {
            "patient": patient,
            "form": form,
            "crumbs": _crumbs(patient, ("Send a questionnaire", None)),
        },
    )


# --- Follow-up note -------------------------------------------------------------------------


@require_POST
def visit_open(request, appointment_id: int):
    require_clinical(request, "followups.add_followupvisit", patient_id=None)  # writing: roles only

    appointment = get_object_or_404(
        Appointment.objects.select_related("appointment_type", "patient"), pk=appointment_id
    )
    # and within the user's locations (a role alone opens only those charts)
    require_clinical(request, "followups.add_followupvisit", patient_id=appointment.patient_id)
    try:
        visit = services.visit_open(appointment=appointment, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("patients:detail", appointment.patient_id)
    return redirect("followups:visit-detail", visit.pk)


def _instrument_forms(visit, data=None):
    return [instrument_form(code, data) for code in VISIT_INSTRUMENTS_DEFAULT] if not visit.is_signed else []


@require_http_methods(["GET", "POST"])
def visit_detail(request, visit_id: int):
    visit = get_visit_for_user(request, visit_id)
    post = request.POST if request.method == "POST" else None
    if post is not None and not request.user.has_perm("followups.change_followupvisit"):
        raise PermissionDenied
    form = VisitNoteForm(post, instance=visit, initial={"version": visit.version})
    inst_forms = _instrument_forms(visit, post)
    if post is not None and not visit.is_signed and form.is_valid() and all(f.is_valid() for f in inst_forms):
        answers = {f.code: f.cleaned_data["answers"] for f in inst_forms if f.cleaned_data.get("answers") is not None}
        try:
            services.visit_save(
                visit=visit,
                by=request.user,
                expected_version=form.cleaned_data["version"],
                changes={k: form.cleaned_data[k] for k in services.NOTE_FIELDS},
                instruments=answers,
            )
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, "Note saved.")
            return redirect("followups:visit-detail", visit.pk)
    if post is None:
        services.visit_viewed(visit=visit, by=request.user)
    return render(
        request,
        "followups/visit_detail.html",
        {
            "visit": visit,
            "form": form,
            "inst_forms": inst_forms,
            "sign_form": SignForm(),
            "sign_refusal": None if visit.is_signed else services.visit_sign_refusal(visit, now=timezone.now()),
            "responses": current_responses_for(subject=visit),
            "crumbs": _crumbs(visit.patient, (str(visit), None)),
        },
    )


@require_POST
def visit_sign(request, visit_id: int):
    visit = get_visit_for_user(request, visit_id, perm="followups.sign_followupvisit")
    form = SignForm(request.POST)
    if form.is_valid():
        try:
            services.visit_sign(visit=visit, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, "Follow-up note signed.")
            return redirect("followups:visit-detail", visit.pk)
    return render(
        request,
        "followups/visit_detail.html",
        {
            "visit": visit,
            "form": VisitNoteForm(instance=visit, initial={"version": visit.version}),
            "inst_forms": _instrument_forms(visit),
            "sign_form": form,
            "responses": current_responses_for(subject=visit),
            "crumbs": _crumbs(visit.patient, (str(visit), None)),
        },
    )


@require_http_methods(["GET", "POST"])
def visit_amend(request, visit_id: int):
    visit = get_visit_for_user(request, visit_id, perm="followups.add_followupamendment")
    form = AmendForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.visit_amend(visit=visit, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, "Amendment recorded.")
            return redirect("followups:visit-detail", visit.pk)
    audit.record_page_opened(
        request,
        action="followups.amendment_form.viewed",
        category=AuditEvent.Category.CLINICAL,
        target=visit,
        patient=visit.patient,
    )
    return render(
        request,
        "followups/amendment_form.html",
        {
            "visit": visit,
            "form": form,
            "crumbs": _crumbs(visit.patient, (str(visit), None), ("Amend", None)),
        },
    )


# --- Booster suggestions ----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def suggestion_decide(request, suggestion_id: int):
    """One suggestion's decision page, opened from the worklist's row: the form is here rather than
    on each of the worklist's rows, so the list stays a list of links."""
    suggestion = get_suggestion_for_user(request, suggestion_id)
    form = DecideForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.booster_decide(
                suggestion=suggestion,
                by=request.user,
                accept=form.cleaned_data["decision"] == "accept",
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            _errors_to_form(form, exc)
        except PrescriberRequired as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Booster suggestion decided.")
            return redirect("followups:worklist")
    audit.record_page_opened(
        request,
        action="followups.booster_decision_form.viewed",
        category=AuditEvent.Category.CLINICAL,
        target=suggestion,
        patient=suggestion.patient,
    )
    return render(
        request,
        "followups/suggestion_decide.html",
        {
            "suggestion": suggestion,
            "form": form,
            "booster_standing": prescriber_standing(request.user, BOOSTER_DECIDE, action="Deciding on a booster"),
            "crumbs": [
                ("Follow-up worklist", reverse("followups:worklist")),
                (suggestion.patient.display_name, reverse("followups:outcomes", args=[suggestion.patient_id])),
                ("Booster decision", None),
            ],
        },
    )


@require_GET
@permission_required("followups.view_booster_booking_status", raise_exception=True)
@audit.audited_query("followups.ready_to_book.viewed", AuditEvent.Category.SCHEDULING)
def ready_to_book(request):
    """Front desk: accepted boosters to book. Booking facts only (patient, since when), no scores."""

    booster = AppointmentType.objects.filter(code="booster").values_list("pk", flat=True).first()
    return render(
        request,
        "followups/ready_to_book.html",
        {
            "rows": selectors.ready_to_book(user=request.user),
            "booster_type": booster,
            "crumbs": [("Boosters to book", None)],
        },
    )


# --- Safety alerts and the worklist -------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def alert_detail(request, alert_id: int):
    alert = get_alert_for_user(request, alert_id)
    first_look = services.alert_seen(alert=alert, by=request.user)
    form = AcknowledgeForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("followups.acknowledge_safetyalert"):
            raise PermissionDenied
        if form.is_valid():
            try:
                services.alert_acknowledge(alert=alert, by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                _errors_to_form(form, exc)
            else:
                messages.success(request, "Alert acknowledged.")
                return redirect("home")
    elif not first_look:  # the first look is already an audited read: one event per request
        services.alert_viewed(alert=alert, by=request.user)
    return render(
        request,
        "followups/alert_detail.html",
        {
            "alert": alert,
            "seen_by": selectors.alert_seen_by(alert),
            "escalated_to": services.escalation_recipients(alert, alert.escalation_level)
            if alert.escalation_level
            else [],
            "form": form,
            "crumbs": _crumbs(alert.patient, (f"Safety alert #{alert.pk}", None)),
        },
    )


_ROW = 987654321


def _row_url(name: str):
    """``pk -> URL`` of the named one-integer route, reversed once for a whole list."""
    pattern = reverse(name, args=[_ROW])
    return lambda pk: pattern.replace(str(_ROW), str(int(pk)))


def _day_and_clock(value) -> str:
    local = timezone.localtime(value)
    return f"{local:%m/%d} {clock(local)}"


# Each row's markup, written once per row in the view: the template printed some 250 variables a
# page (each resolved, localised and escaped by its own node), about a third of the page's time.
# format_html escapes every value, as the template did.
_ALERT_ROW = '<li class="mb-1"><a href="{}">{}</a> · {} · {}</li>'
_FOLLOW_UP_ROW = (
    '<li class="mb-1"><a href="{}">{}</a> · {} · <span class="badge {}">{}</span>\n'
    '    <form method="post" action="{}" class="d-inline"><input type="hidden" name="csrfmiddlewaretoken" '
    'value="{}"><button class="btn btn-sm btn-link p-0" type="submit">Note</button></form></li>'
)
_WORSENED_ROW = '<li class="mb-1"><a href="{}">{}</a> · {} → {}</li>'
_NOT_RETURNED_ROW = '<li class="mb-1"><a href="{}">{}</a> · sent {}, expired {}</li>'
_SUGGESTION_ROW = '<li class="mb-1"><a href="{}">{}</a> · {}</li>'
_SUGGESTION_DECIDE_ROW = (
    '<li class="mb-1"><a href="{}">{}</a> · {} · <a href="{}">Decide<span class="visually-hidden"> on {}\'s '
    "booster</span></a></li>"
)


def _worklist_rows(data, *, csrf_token: str, can_decide: bool) -> dict:
    """Each list's rows as markup, worked out once here: the template prints them instead of
    resolving names, choice displays, two date filters and a URL reversal per row."""
    chart, alert, visit_open = (
        _row_url("patients:detail"),
        _row_url("followups:alert-detail"),
        _row_url("followups:visit-open"),
    )
    outcomes, decide = _row_url("followups:outcomes"), _row_url("followups:suggestion-decide")
    badge = {"overdue": "text-bg-danger"}
    return {
        "alert_rows": [
            format_html(_ALERT_ROW, alert(pk), name, reason, _day_and_clock(at)) for pk, name, reason, at in data.alerts
        ],
        "follow_up_rows": [
            format_html(
                _FOLLOW_UP_ROW,
                chart(patient),
                name,
                _day_and_clock(start),
                badge.get(state, "text-bg-warning"),
                state,
                visit_open(pk),
                csrf_token,
            )
            for pk, patient, name, start, state in data.follow_ups
        ],
        "worsened_rows": [
            format_html(_WORSENED_ROW, outcomes(patient), name, prev, latest)
            for patient, name, prev, latest in data.worsened
        ],
        "not_returned_rows": [
            format_html(
                _NOT_RETURNED_ROW,
                chart(patient),
                name,
                f"{timezone.localtime(sent):%m/%d}",
                f"{timezone.localtime(expired):%m/%d}",
            )
            for patient, name, sent, expired in data.not_returned
        ],
        "suggestion_rows": [
            format_html(_SUGGESTION_DECIDE_ROW, outcomes(patient), name, reason, decide(pk), name)
            if can_decide
            else format_html(_SUGGESTION_ROW, outcomes(patient), name, reason)
            for pk, patient, name, reason in data.suggestions
        ],
    }


# The worklist's lists as the address names them (?list=…), and their headings.
_WORKLIST_LISTS = {
    "alerts": ("alert", "Unacknowledged safety alerts"),
    "due": ("follow_up", "Follow-ups due or overdue"),
    "worsened": ("worsened", "PHQ-9 worsened"),
    "not-returned": ("link", "Questionnaires not returned"),
    "boosters": ("suggestion", "Booster suggestions awaiting a decision"),
}


def _page_number(text: str | None) -> int:
    """Any ``?page=`` gives a page: a number from 1, anything else the first."""
    text = text or ""
    return max(1, int(text)) if text.isascii() and text.isdigit() and len(text) < 6 else 1


@require_GET
@audit.audited_query("followups.worklist.viewed", AuditEvent.Category.CLINICAL)
def worklist(request):
    """The five lists, each up to ``WORKLIST_SHOWN`` rows with a link to the rest; ``?list=`` shows
    one list in full, a page at a time (an unknown name shows the whole worklist)."""
    require_clinical(request, "followups.view_followupvisit", patient_id=None)  # many patients: roles only
    policy = services.policy_current()
    name = request.GET.get("list", "")
    only, heading = _WORKLIST_LISTS.get(name, (None, ""))
    page = _page_number(request.GET.get("page")) if only else 1
    data = selectors.worklist(
        user=request.user, today=timezone.localdate(), min_rise=policy.worsened_min_rise, only=only, page=page
    )
    listed = {kind: (list_name, title) for list_name, (kind, title) in _WORKLIST_LISTS.items()}
    # The decision form only for whom the service accepts it from; others see why (asked only when
    # a suggestion is listed).
    standing = (
        prescriber_standing(request.user, BOOSTER_DECIDE, action="Deciding on a booster") if data.suggestions else None
    )
    return render(
        request,
        "followups/worklist.html",
        {
            **_worklist_rows(data, csrf_token=get_token(request), can_decide=standing is not None and standing.can_act),
            "only": only,
            "page": page,
            "list_name": name if only else "",
            "has_next": only in data.more,
            # Per list: the address and heading of its full view, when it goes on beyond the rows shown.
            "more": {kind: listed[kind] for kind in data.more},
            "booster_standing": standing,
            "crumbs": [("Follow-up worklist", reverse("followups:worklist")), (heading, None)]
            if only
            else [("Follow-up worklist", None)],
        },
    )
