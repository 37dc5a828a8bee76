"""Writes for inquiries: the public submission, the desk's contact attempts and status moves,
and turning an inquiry into a patient (or linking it to one). Each is atomic, validates, and
writes its audit entry; no PHI goes into a log line or a URL.

The audit entries of an inquiry name it by id and say what changed, never the person's name,
date of birth or contact details (those stay in the inquiry and its history)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from core.audit import Category, Verb
from inquiries import rules
from inquiries.models import Inquiry, InquiryContact
from patients.models import ConsentMethod, Patient
from patients.services import contact_log_entries_create, contact_log_entry_create, patient_create
from scheduling.models import Appointment, AppointmentStatus, AppointmentType
from scheduling.services.self_booking import NewSelfBookingLink, self_booking_link_issue

AUDIT_CATEGORY = Category.DEMOGRAPHICS
# What the public form may set.
SUBMITTED_FIELDS = (
    "who",
    "first_name",
    "last_name",
    "date_of_birth",
    "phone",
    "email",
    "contact_by_phone",
    "contact_by_sms",
    "contact_by_email",
    "reason",
    "referrer_name",
    "referrer_npi",
    "referrer_phone",
    "preferred_location",
)
# A consultation booked for the patient counts towards "booked" in any of these states.
BOOKED_STATES = (
    AppointmentStatus.BOOKED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.CHECKED_IN,
    AppointmentStatus.IN_PROGRESS,
    AppointmentStatus.COMPLETED,
)
# A contact logged a few minutes "in the future" is clock skew between devices, not an error.
CLOCK_SKEW = timedelta(minutes=5)


def _validate_submission(inquiry: Inquiry, *, today) -> None:
    errors: dict[str, list[str]] = {}
    for name in ("first_name", "last_name"):
        if not str(getattr(inquiry, name)).strip():
            errors[name] = ["This field is required."]
    problems = rules.contact_problems(
        phone=str(inquiry.phone or ""), email=inquiry.email, channels=set(inquiry.channels)
    )
    for name, message in problems.items():
        errors.setdefault(name, []).append(message)
    if inquiry.who == rules.Who.REFERRER and not inquiry.referrer_name.strip():
        errors.setdefault("referrer_name", []).append("Give your name as the referring provider.")
    if inquiry.date_of_birth and inquiry.date_of_birth > today:
        errors.setdefault("date_of_birth", []).append("The date of birth is in the future.")
    try:
        inquiry.clean_fields(exclude=["preferred_location", "status_changed_by", "patient", "linked_by", *errors])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def inquiry_submit(*, now: datetime | None = None, **fields: Any) -> Inquiry:
    """Record what someone sent through the public form (no one is signed in: the actor is empty).

    Raises ValidationError keyed by field. Whether the person is already a patient is not looked
    at here: the desk decides that when it converts or links the inquiry."""
    unknown = set(fields) - set(SUBMITTED_FIELDS)
    if unknown:
        raise TypeError(f"not accepted from the public form: {sorted(unknown)}")
    now = now or timezone.now()
    inquiry = Inquiry(**fields, submitted_at=now, status=rules.Status.NEW)
    inquiry.first_name = " ".join(inquiry.first_name.split())
    inquiry.last_name = " ".join(inquiry.last_name.split())
    inquiry.email = rules.normalise_email(inquiry.email)
    if inquiry.who != rules.Who.REFERRER and not inquiry.referrer_name:
        inquiry.referrer_npi = ""
    _validate_submission(inquiry, today=timezone.localdate(now))
    inquiry.save(force_insert=True)
    audit.record(
        actor=None,
        action="inquiries.inquiry.submitted",
        verb=Verb.CREATE,
        category=AUDIT_CATEGORY,
        target=inquiry,
        changes={
            "who": [None, inquiry.who],
            "reason": [None, inquiry.reason],
            "channels": [None, inquiry.channels],
            "preferred_location": [None, inquiry.preferred_location_id],
            "referred": [None, bool(inquiry.referrer_name)],
        },
    )
    return inquiry


def _lock(inquiry: Inquiry) -> Inquiry:
    return Inquiry.objects.select_for_update().get(pk=inquiry.pk)


def _move(locked: Inquiry, *, to: str, by: User | None, at: datetime) -> dict[str, list]:
    """Set the new status (validated against the lifecycle); the audit's changes."""
    if locked.status == to:
        return {}
    if not rules.status_change_allowed(locked.status, to):
        now_label, to_label = locked.get_status_display().lower(), rules.STATUS_LABELS[to].lower()
        raise ValidationError({"status": f"An inquiry that is {now_label} cannot become {to_label}."})
    before = locked.status
    locked.status = to
    locked.status_changed_at = at
    locked.status_changed_by = by
    if to != rules.Status.CLOSED:
        locked.close_reason = ""
        locked.close_note = ""
    return {"status": [before, to]}


def _has_consultation_booked(patient_id: int, *, since: datetime) -> bool:
    return Appointment.objects.filter(
        patient_id=patient_id,
        appointment_type__code=AppointmentType.Code.CONSULTATION,
        status__in=BOOKED_STATES,
        created_at__gte=since - timedelta(days=1),
    ).exists()


@transaction.atomic
def inquiry_change_status(
    *, inquiry: Inquiry, by: User, status: str, close_reason: str = "", close_note: str = ""
) -> Inquiry:
    """Move an inquiry through the queue. Closing needs a reason ("other" with a note); booked
    needs a linked patient with an intake consultation booked since the inquiry came in."""
    locked = _lock(inquiry)
    now = timezone.now()
    close_note = " ".join((close_note or "").split())
    if status not in rules.STATUS_LABELS:
        raise ValidationError({"status": "Choose a status."})
    if status == rules.Status.CLOSED:
        if close_reason not in rules.CLOSE_REASON_LABELS:
            raise ValidationError({"close_reason": "Say why the inquiry is closed."})
        if close_reason == rules.CloseReason.OTHER and not close_note:
            raise ValidationError({"close_note": "Say why in a few words."})
    if status == rules.Status.BOOKED:
        if locked.patient_id is None:
            raise ValidationError(
                {"status": "Register the person as a patient (or link the inquiry to their record) first."}
            )
        if not _has_consultation_booked(locked.patient_id, since=locked.submitted_at):
            raise ValidationError({"status": "Book the intake consultation first, then mark the inquiry booked."})
    changes = _move(locked, to=status, by=by, at=now)
    if status == rules.Status.CLOSED:
        changes["close_reason"] = [locked.close_reason or None, close_reason]
        locked.close_reason, locked.close_note = close_reason, close_note[:200]
    if not changes:
        return locked
    locked.save(update_fields=["status", "status_changed_at", "status_changed_by", "close_reason", "close_note"])
    audit.record(
        actor=by,
        action="inquiries.inquiry.status_changed",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=locked,
        patient=locked.patient,
        changes=changes,
    )
    return locked


@transaction.atomic
def inquiry_contact_record(
    *, inquiry: Inquiry, by: User, channel: str, outcome: str, note: str = "", at: datetime | None = None
) -> InquiryContact:
    """Log one attempt to reach the person, only by a way they agreed to. A new inquiry becomes
    "contacted"; with a linked patient the attempt also goes to the patient's contact log."""
    locked = _lock(inquiry)
    now = timezone.now()
    if channel not in locked.channels:
        raise ValidationError({"channel": "The person did not agree to be contacted this way."})
    contact = InquiryContact(
        inquiry=locked, by=by, at=at or now, channel=channel, outcome=outcome, note=" ".join((note or "").split())
    )
    if contact.at > now + CLOCK_SKEW:
        raise ValidationError({"at": "A contact cannot be logged in the future."})
    contact.clean_fields(exclude=["inquiry", "by"])
    contact.save(force_insert=True)
    changes: dict[str, Any] = {"channel": [None, channel], "outcome": [None, outcome]}
    if locked.status == rules.Status.NEW:
        changes.update(_move(locked, to=rules.Status.CONTACTED, by=by, at=now))
        locked.save(update_fields=["status", "status_changed_at", "status_changed_by", "close_reason", "close_note"])
    audit.record(
        actor=by,
        action="inquiries.inquiry.contact_recorded",
        verb=Verb.CREATE,
        category=AUDIT_CATEGORY,
        target=contact,
        patient=locked.patient,
        changes=changes,
    )
    if locked.patient is not None:
        contact_log_entry_create(
            patient=locked.patient,
            by=by,
            channel=channel,
            direction="out",
            summary=contact.log_summary,
            at=contact.at,
        )
    return contact


def _copy_contacts_to_log(inquiry: Inquiry, patient: Patient) -> None:
    """The attempts made before the inquiry had a patient, into the patient's contact log."""
    attempts = list(inquiry.contacts.select_related("inquiry").order_by("at", "id"))
    contact_log_entries_create(
        entries=[
            {
                "patient": patient,
                "by": a.by,
                "channel": a.channel,
                "direction": "out",
                "summary": a.log_summary,
                "at": a.at,
            }
            for a in attempts
        ]
    )


def _attach(locked: Inquiry, *, patient: Patient, by: User | None, how: str) -> Inquiry:
    if locked.patient_id is not None:
        raise ValidationError({"patient": "This inquiry is already linked to a patient."})
    now = timezone.now()
    locked.patient, locked.linked_at, locked.linked_by = patient, now, by
    locked.save(update_fields=["patient", "linked_at", "linked_by"])
    audit.record(
        actor=by,
        action=f"inquiries.inquiry.{how}",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=locked,
        patient=patient,
        changes={"patient": [None, patient.mrn]},
    )
    _copy_contacts_to_log(locked, patient)
    return locked


def patient_fields(inquiry: Inquiry) -> dict[str, Any]:
    """What the registry takes from an inquiry: names, date of birth, contacts, the referrer, and
    the person's own consent to texts and e-mails.

    The form asks the person how the clinic may reach them about the inquiry and, once a patient,
    with appointment reminders and messages: those channels become the patient's reminder consent,
    given on the inquiry form when it was sent (``patient_create``'s ``consent_given_at``). A
    referring clinician's form carries no consent of the patient's; nor does a call, which no
    reminder uses."""
    referrer = inquiry.referrer_name
    if referrer and inquiry.referrer_npi:
        referrer = f"{referrer} (NPI {inquiry.referrer_npi})"
    fields: dict[str, Any] = {
        "legal_first_name": inquiry.first_name,
        "legal_last_name": inquiry.last_name,
        "date_of_birth": inquiry.date_of_birth,
        "phone": inquiry.phone,
        "email": inquiry.email,
        "referring_provider": referrer[:200],
    }
    given = _reminder_channels(inquiry)
    if rules.Channel.SMS in given:
        fields.update(sms_opt_in=True, sms_consent_method=ConsentMethod.INQUIRY)
    if rules.Channel.EMAIL in given:
        fields.update(email_opt_in=True, email_consent_method=ConsentMethod.INQUIRY)
    return fields


def _reminder_channels(inquiry: Inquiry) -> set[str]:
    return rules.reminder_channels(
        who=inquiry.who,
        phone=str(inquiry.phone or ""),
        email=inquiry.email,
        texts=inquiry.contact_by_sms,
        emails=inquiry.contact_by_email,
    )


def books_online(inquiry: Inquiry) -> bool:
    """Whether the person may choose a time themselves from this inquiry: only when it gives the
    patient it registers a reminder channel of their own, by which the booking's reminders, the
    desk's decision and the pre-visit forms reach them. The desk books anyone else, and asks for
    their consent then (a referring clinician's form, or calls only)."""
    return bool(_reminder_channels(inquiry))


def _register(inquiry: Inquiry, *, by: User | None, duplicate_reason: str) -> Patient:
    return patient_create(
        by=by, duplicate_reason=duplicate_reason, consent_given_at=inquiry.submitted_at, **patient_fields(inquiry)
    )


@transaction.atomic
def inquiry_convert(*, inquiry: Inquiry, by: User, duplicate_reason: str = "") -> Patient:
    """Register the person as a patient from the inquiry and link the two.

    The registry's duplicate check runs as for any registration: a likely match raises
    ``patients.services.PossibleDuplicates`` (with the matches) unless ``duplicate_reason`` says
    why they are a different person; the desk then links the inquiry to the match instead."""
    locked = _lock(inquiry)
    if locked.patient_id is not None:
        raise ValidationError({"patient": "This inquiry is already linked to a patient."})
    if locked.status == rules.Status.CLOSED:
        raise ValidationError({"status": "Reopen the inquiry before registering the person."})
    patient = _register(locked, by=by, duplicate_reason=duplicate_reason)
    _attach(locked, patient=patient, by=by, how="converted")
    return patient


# Kept with the registration when the registry finds possible matches: the public page must not
# tell the person whether they are known, so the desk sorts it out from the patient page.
SELF_REGISTERED_REASON = (
    "Registered by the person from the public inquiry form to choose a consultation time online; "
    "the desk checks the possible matches."
)
# How long after sending the form the thank-you page may still start an online booking.
SELF_BOOKING_WINDOW = timedelta(minutes=30)


@transaction.atomic
def inquiry_self_booking_start(*, inquiry: Inquiry, now: datetime | None = None) -> NewSelfBookingLink:
    """The person chose "choose a time" on the thank-you page: register them from what they typed
    (a new record, never attached to an existing one on a stranger's word; the registry's possible
    matches are recorded for the desk), link the inquiry, and issue a booking link whose date-of-birth
    check and slot choice are the scheduling app's own (``scheduling.services.self_booking``).

    Only for an inquiry sent in the last ``SELF_BOOKING_WINDOW``, still open, and giving the patient
    a reminder channel (``books_online``); the booking then moves the inquiry to "booked" through
    the appointment hook."""
    now = now or timezone.now()
    locked = _lock(inquiry)
    if locked.status not in rules.OPEN_STATUSES or now - locked.submitted_at > SELF_BOOKING_WINDOW:
        raise ValidationError("This form can no longer be used to book online; please call the clinic.")
    if not books_online(locked):
        raise ValidationError("We will call to book this consultation; please call the clinic if you prefer.")
    patient = locked.patient
    if patient is None:
        patient = _register(locked, by=None, duplicate_reason=SELF_REGISTERED_REASON)
        _attach(locked, patient=patient, by=None, how="registered_by_person")
    return self_booking_link_issue(patient=patient, by=None, now=now)


@transaction.atomic
def inquiry_link(*, inquiry: Inquiry, by: User, patient: Patient) -> Inquiry:
    """Link the inquiry to a patient already registered (the duplicate check found them)."""
    locked = _lock(inquiry)
    if locked.status == rules.Status.CLOSED:
        raise ValidationError({"status": "Reopen the inquiry before linking it."})
    return _attach(locked, patient=patient, by=by, how="linked")


def inquiry_opened(*, inquiry: Inquiry, by: User) -> None:
    """Reading an inquiry shows a person's details: one read event (the patient's, once linked)."""
    audit.record(
        actor=by,
        action="inquiries.inquiry.viewed",
        verb=Verb.READ,
        category=AUDIT_CATEGORY,
        target=inquiry,
        patient=inquiry.patient,
    )


@transaction.atomic
def inquiries_booked_for_appointment(appointment_id: int) -> None:
    """After a booking commits: an intake consultation booked for a patient moves that patient's
    open inquiries to "booked" (whoever booked it: the desk, or the person through a link).
    Called through ``scheduling.hooks`` (InquiriesConfig.ready)."""
    appointment = (
        Appointment.objects.filter(
            pk=appointment_id, appointment_type__code=AppointmentType.Code.CONSULTATION, status__in=BOOKED_STATES
        )
        .only("id", "patient_id", "created_by_id", "created_at")
        .first()
    )
    if appointment is None:
        return
    open_ones = list(
        Inquiry.objects.select_for_update()
        .filter(patient_id=appointment.patient_id, status__in=rules.OPEN_STATUSES)
        .select_related("patient")
    )
    now = timezone.now()
    events = []
    for inquiry in open_ones:
        changes = _move(inquiry, to=rules.Status.BOOKED, by=appointment.created_by, at=now)
        inquiry.save(update_fields=["status", "status_changed_at", "status_changed_by", "close_reason", "close_note"])
        changes["appointment"] = [None, appointment.pk]
        events.append(
            {
                "actor": None,
                "action": "inquiries.inquiry.booked",
                "verb": Verb.UPDATE,
                "category": AUDIT_CATEGORY,
                "target": inquiry,
                "patient": inquiry.patient,
                "changes": changes,
            }
        )
    if events:
        audit.record_many(events)
