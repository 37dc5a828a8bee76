"""Care-team pages: the directory, a patient's care team and authorisations (a panel on the
patient page), progress letters (draft, review, sign, release through the documents download),
and adjunct visits (book one around the infusions, write and sign its note).

Thin views: fetch through ``care_team.access``, bind a form, call one service, put its errors on
the form, redirect. Pages about one chart record a read; the directory names no patient.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import audit
from accounts.models import AuditEvent
from care_team import access, selectors, services
from care_team.documents import progress_letter
from care_team.forms import (
    AdjunctBookForm,
    AdjunctNoteForm,
    AmendForm,
    AuthorisationForm,
    DirectorySearchForm,
    LetterForm,
    MemberForm,
    ProviderForm,
    RevokeForm,
)
from documents import charts
from patients.access import get_patient_for_user
from scheduling.access import in_their_patients
from scheduling.rules import LocalTimeError, to_utc
from scheduling.services import SchedulingError

CLINICAL = AuditEvent.Category.CLINICAL
DEMOGRAPHICS = AuditEvent.Category.DEMOGRAPHICS


def _errors_to_form(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _chart(patient_id: int, anchor: str = "care-team") -> str:
    return reverse("patients:detail", args=[patient_id]) + f"#{anchor}"


def _crumbs(patient, label: str):
    return [
        ("Patients", reverse("patients:list")),
        (patient.display_name, reverse("patients:detail", args=[patient.pk])),
        (label, None),
    ]


# --- The directory ------------------------------------------------------------------------


@permission_required(access.VIEW_PROVIDER, raise_exception=True)
@require_GET
def directory(request):
    """Outside clinicians, 25 a page, searchable by name, practice or NPI; retired ones on request."""
    form = DirectorySearchForm(request.GET or None)
    query, retired = "", False
    if form.is_valid():
        query, retired = form.cleaned_data["q"], form.cleaned_data["retired"]
    page = Paginator(selectors.providers(query=query, include_retired=retired), 25).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "query": query,
        "retired": retired,
        "page_query": urlencode({"q": query, **({"retired": "on"} if retired else {})}),
        "may_manage": request.user.has_perm("care_team.add_outsideprovider"),
        "crumbs": [("Outside clinicians", None)],
    }
    return render(request, "care_team/directory.html", context)


@permission_required("care_team.add_outsideprovider", raise_exception=True)
@require_http_methods(["GET", "POST"])
def provider_new(request):
    form = ProviderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            provider = services.provider_create(by=request.user, data=form.cleaned_data)
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, f"{provider.name} is in the directory.")
            return redirect("care_team:directory")
    context = {"form": form, "title": "Add an outside clinician", "crumbs": _directory_crumbs("New clinician")}
    return render(request, "care_team/provider_form.html", context, status=400 if form.errors else 200)


def _directory_crumbs(label: str):
    return [("Outside clinicians", reverse("care_team:directory")), (label, None)]


@require_http_methods(["GET", "POST"])
def provider_edit(request, provider_id: int):
    provider = access.get_provider(request, provider_id, perm="care_team.change_outsideprovider")
    form = ProviderForm.for_provider(provider, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.provider_update(provider=provider, by=request.user, data=form.cleaned_data)
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("care_team:directory")
    context = {
        "form": form,
        "provider": provider,
        "title": f"Edit {provider.name}",
        "crumbs": _directory_crumbs(provider.name),
    }
    return render(request, "care_team/provider_form.html", context, status=400 if form.errors else 200)


@require_POST
def provider_retire(request, provider_id: int):
    provider = access.get_provider(request, provider_id, perm="care_team.change_outsideprovider")
    services.provider_retire(provider=provider, by=request.user)
    messages.success(request, f"{provider.name} is retired: kept on every care team and letter, no longer offered.")
    return redirect("care_team:directory")


# --- A patient's care team ----------------------------------------------------------------


@require_GET
def patient_panel(request, patient_id: int):
    """The care team on the patient page: names for everyone; authorisations, letters and adjunct
    visits for clinical staff only."""
    patient = get_patient_for_user(request, patient_id, perm=access.VIEW_MEMBER)
    clinical = access.may_see_letters(request.user, patient_id=patient.pk)
    notes = access.may_see_notes(request.user, patient_id=patient.pk)
    audit.record_read(
        actor=request.user,
        action="care_team.patient_panel.viewed",
        target=patient,
        patient=patient,
        category=CLINICAL if clinical else DEMOGRAPHICS,
    )
    rows = selectors.team_rows(patient.pk, today=timezone.localdate())
    context = {
        "patient": patient,
        "rows": rows,
        "clinical": clinical,
        "letters": selectors.patient_letters(patient.pk) if clinical else [],
        "adjuncts": selectors.adjunct_appointments(patient.pk) if notes else [],
        "may_add": request.user.has_perm("care_team.add_careteammember"),
        "may_draft": request.user.has_perm("care_team.add_progressletter") and clinical,
        "may_book": request.user.has_perm("scheduling.add_appointment"),
        "may_authorise": request.user.has_perm("care_team.add_sharingauthorisation") and clinical,
    }
    return render(request, "care_team/_patient_panel.html", context)


@require_http_methods(["GET", "POST"])
def member_add(request, patient_id: int):
    if not request.user.has_perm("care_team.add_careteammember"):
        raise PermissionDenied
    patient = get_patient_for_user(request, patient_id)
    audit.record_page_opened(request, action="care_team.member_add.opened", category=DEMOGRAPHICS, patient=patient)
    form = MemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.member_add(
                patient=patient,
                provider=form.cleaned_data["provider"],
                relationship=form.cleaned_data["relationship"],
                by=request.user,
            )
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, "Added to the care team.")
            return redirect(_chart(patient.pk))
    context = {"form": form, "patient": patient, "crumbs": _crumbs(patient, "Add to the care team")}
    return render(request, "care_team/member_form.html", context, status=400 if form.errors else 200)


@require_POST
def member_end(request, member_id: int):
    member = access.get_member(request, member_id, "care_team.change_careteammember")
    services.member_end(member=member, by=request.user)
    messages.success(request, f"{member.provider.name} is no longer on the care team.")
    return redirect(_chart(member.patient_id))


@require_http_methods(["GET", "POST"])
def authorisation_new(request, member_id: int):
    member = access.get_member(
        request, member_id, "care_team.add_sharingauthorisation", "patients.view_clinical_record"
    )
    patient = member.patient
    audit.record_page_opened(request, action="care_team.authorisation_new.opened", category=CLINICAL, patient=patient)
    form = AuthorisationForm(request.POST or None, initial={"signed_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            services.authorisation_record(member=member, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, "The patient's authorisation is recorded.")
            return redirect(_chart(patient.pk))
    context = {"form": form, "member": member, "patient": patient, "crumbs": _crumbs(patient, "Authorisation to share")}
    return render(request, "care_team/authorisation_form.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def authorisation_revoke(request, authorisation_id: int):
    authorisation = access.get_authorisation(
        request, authorisation_id, "care_team.change_sharingauthorisation", "patients.view_clinical_record"
    )
    patient = authorisation.patient
    audit.record_page_opened(
        request, action="care_team.authorisation_revoke.opened", category=CLINICAL, patient=patient
    )
    form = RevokeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.authorisation_revoke(
                authorisation=authorisation, by=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, "Revoked: no letter to this clinician can be signed or released.")
            return redirect(_chart(patient.pk))
    context = {
        "form": form,
        "authorisation": authorisation,
        "patient": patient,
        "crumbs": _crumbs(patient, "Revoke an authorisation"),
    }
    return render(request, "care_team/revoke_form.html", context, status=400 if form.errors else 200)


# --- Progress letters ----------------------------------------------------------------------


@require_POST
def letter_draft(request, member_id: int):
    member = access.get_member(
        request, member_id, "care_team.add_progressletter", access.VIEW_LETTER, "patients.view_clinical_record"
    )
    try:
        letter = services.letter_draft(member=member, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(_chart(member.patient_id))
    return redirect("care_team:letter", letter.pk)


@require_http_methods(["GET", "POST"])
def letter_detail(request, letter_id: int):
    """Review the letter as it will print, write the plan, save or sign it; once signed, the
    download for the recipient (a disclosure each time)."""
    letter = access.get_letter(request, letter_id)
    form = LetterForm(request.POST or None, initial={"plan_text": letter.plan_text})
    if request.method == "POST":
        if not request.user.has_perm("care_team.change_progressletter"):
            raise PermissionDenied
        if form.is_valid():
            try:
                if "sign" in request.POST:
                    services.letter_sign(letter=letter, by=request.user, plan_text=form.cleaned_data["plan_text"])
                    messages.success(request, "Signed. Download it to send by secure fax or e-mail, or print it.")
                else:
                    services.letter_save(letter=letter, by=request.user, plan_text=form.cleaned_data["plan_text"])
                    messages.success(request, "Draft saved.")
            except ValidationError as exc:
                _errors_to_form(form, exc)
            else:
                return redirect("care_team:letter", letter.pk)
    else:
        services.letter_viewed(letter=letter, by=request.user)
    content = progress_letter(letter)
    refusal = services.release_refusal(letter, today=timezone.localdate())
    context = {
        "letter": letter,
        "patient": letter.patient,
        "form": form,
        "content": content,
        "charts": charts.for_snapshot(content),
        "refusal": refusal,
        "may_sign": request.user.has_perm("care_team.sign_progressletter"),
        "may_edit": request.user.has_perm("care_team.change_progressletter"),
        "crumbs": _crumbs(letter.patient, "Progress letter"),
    }
    return render(request, "care_team/letter_detail.html", context, status=400 if form.errors else 200)


@permission_required(access.VIEW_LETTER, raise_exception=True)
@require_GET
@audit.audited_query("care_team.letters.viewed", CLINICAL)
def letters(request):
    """Progress letters waiting for a prescriber's review and signature, oldest first."""
    if not access.may_see_letters(request.user, patient_id=None):
        raise PermissionDenied
    page = Paginator(in_their_patients(request.user, selectors.letters_to_sign()), 25).get_page(request.GET.get("page"))
    return render(request, "care_team/letters.html", {"page": page, "crumbs": [("Progress letters to sign", None)]})


# --- Adjunct visits ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def adjunct_book(request, patient_id: int):
    """Book an integration or psychotherapy visit in a consult room; from an infusion's page the
    form proposes the same time on the next day."""
    if not request.user.has_perm("scheduling.add_appointment"):
        raise PermissionDenied
    patient = get_patient_for_user(request, patient_id)
    audit.record_page_opened(request, action="care_team.adjunct_book.opened", category=DEMOGRAPHICS, patient=patient)
    initial = selectors.adjunct_booking_initial(patient.pk, request.GET.get("after"))
    form = AdjunctBookForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        location = data["location"]
        try:
            start = to_utc(data["day"], data["time"], location.time_zone)
        except LocalTimeError as exc:
            form.add_error("time", str(exc))
        else:
            try:
                appointment = services.adjunct_book(
                    patient=patient,
                    location=location,
                    start=start,
                    clinician=data["clinician"],
                    note=data["note"],
                    by=request.user,
                )
            except SchedulingError as exc:
                _errors_to_form(form, exc)
            else:
                room = appointment.resource.name if appointment.resource is not None else "a room"
                messages.success(request, f"Booked in {room}.")
                return redirect(_chart(patient.pk))
    context = {"form": form, "patient": patient, "crumbs": _crumbs(patient, "Book an integration visit")}
    return render(request, "care_team/adjunct_book.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def adjunct_note(request, adjunct_id: int):
    """The visit's short note: write and save the draft, sign it; once signed, amendments only."""
    appointment = access.get_adjunct_appointment(request, adjunct_id)
    patient = appointment.patient
    note = selectors.adjunct_note(appointment)
    form = AdjunctNoteForm(request.POST or None, initial={"text": note.text if note else ""})
    amend_form = AmendForm()
    if request.method == "POST":
        if not request.user.has_perm("care_team.add_adjunctnote"):
            raise PermissionDenied
        if form.is_valid():
            try:
                saved = services.adjunct_note_save(
                    appointment=appointment, by=request.user, text=form.cleaned_data["text"]
                )
                if "sign" in request.POST:
                    services.adjunct_note_sign(note=saved, by=request.user)
            except ValidationError as exc:
                _errors_to_form(form, exc)
            else:
                messages.success(request, "Signed." if "sign" in request.POST else "Draft saved.")
                return redirect("care_team:adjunct-note", appointment.pk)
    else:
        audit.record_read(
            actor=request.user,
            action="care_team.adjunct_note.viewed",
            target=appointment,
            patient=patient,
            category=CLINICAL,
        )
    context = {
        "appointment": appointment,
        "patient": patient,
        "note": note,
        "form": form,
        "amend_form": amend_form,
        "crumbs": _crumbs(patient, "Integration visit note"),
    }
    return render(request, "care_team/adjunct_note.html", context, status=400 if form.errors else 200)


@require_POST
def adjunct_note_amend(request, adjunct_id: int):
    appointment = access.get_adjunct_appointment(request, adjunct_id, "care_team.add_adjunctnoteamendment")
    note = selectors.adjunct_note(appointment)
    form = AmendForm(request.POST)
    if note is None or not form.is_valid():
        messages.error(request, "Give a reason and the amendment's text.")
        return redirect("care_team:adjunct-note", appointment.pk)
    try:
        services.adjunct_note_amend(note=note, by=request.user, **form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Amendment added.")
    return redirect("care_team:adjunct-note", appointment.pk)
