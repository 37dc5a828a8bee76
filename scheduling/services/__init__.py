"""Writes to the calendar. Each service is atomic, checks permissions and rules, and audits.

Other apps (consultations, infusions) book and move appointments only through
these functions. Refusals are :class:`SchedulingError` (a ``ValidationError``
keyed by the field at fault), so a form can show them where the user typed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from core import tokens
from core.audit import Category, Verb
from patients.models import Patient
from scheduling import hooks, rules, selectors
from scheduling.models import (
    ACTIVE_STATUSES,
    MAX_APPOINTMENT_LENGTH,
    Appointment,
    AppointmentStatus,
    AppointmentStatusChange,
    AppointmentType,
    CalendarFeed,
    Location,
    Resource,
    Series,
)

AUDIT_CATEGORY = Category.SCHEDULING
SLOT_TAKEN = "That slot was just taken."
# Namespace of the per-clinician advisory lock (pg_advisory_xact_lock(int, int)).
_CLINICIAN_LOCK_NAMESPACE = 0x5C4E


class SchedulingError(ValidationError):
    """A booking or move the rules refuse; ``message_dict`` keys name the field at fault."""

    def __init__(self, problems: dict[str, list[str]] | str):
        if isinstance(problems, str):
            problems = {NON_FIELD_ERRORS: [problems]}
        super().__init__(problems)


class SlotTaken(SchedulingError):
    """The time is no longer free (another booking, maybe committed a moment ago)."""

    def __init__(self, message: str, *, field: str = "start", conflict: str = "", alternatives=()):
        super().__init__({field: [message]})
        self.conflict = conflict
        self.alternatives: list[rules.Slot] = list(alternatives)


class StaleAppointment(SchedulingError):
    """Someone else changed the appointment since the user loaded it (optimistic lock, R2)."""


class SeriesConflicts(SchedulingError):
    """Some occurrences of a series cannot be booked; nothing was saved."""

    def __init__(self, checks: list[selectors.OccurrenceCheck]):
        failing = [c for c in checks if not c.ok]
        super().__init__(f"{len(failing)} of {len(checks)} occurrences cannot be booked as planned; nothing was saved.")
        self.checks = checks


def _require(by: User, perm: str) -> None:
    if by is None or not by.has_perm(perm):
        raise PermissionDenied


def _lock_clinician(clinician) -> None:
    """Serialise bookings of one clinician so that a capacity count cannot race (R1)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", [_CLINICIAN_LOCK_NAMESPACE, clinician.pk % 2_147_483_647]
        )


def _constraint_conflict(exc: IntegrityError) -> str | None:
    """Which exclusion constraint refused the insert: 'resource', 'patient', 'clinician' or None."""
    name = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", "") or ""
    for kind in ("resource", "patient", "clinician"):
        if name == f"appointment_no_overlap_{kind}":
            return kind
    return None


def _record_move(
    appointment: Appointment, *, from_status: str, by: User | None, at: datetime, reason: str = ""
) -> None:
    AppointmentStatusChange.objects.create(
        appointment=appointment, from_status=from_status, to_status=appointment.status, by=by, at=at, reason=reason
    )


def _alternatives(appointment_type, location, start, minutes, patient, clinician, resource, ignore_ids=()):
    return selectors.find_available(
        appointment_type=appointment_type,
        location=location,
        after=max(start, timezone.now()),
        minutes=minutes,
        patient=patient,
        clinician=clinician,
        resource=resource,
        limit=5,
        ignore_ids=ignore_ids,
    )


# --- Booking ----------------------------------------------------------------------


@transaction.atomic
def appointment_book(
    *,
    patient: Patient,
    appointment_type: AppointmentType,
    location: Location,
    start: datetime,
    by: User,
    minutes: int | None = None,
    end: datetime | None = None,
    resource: Resource | None = None,
    clinician=None,
    series: Series | None = None,
    note: str = "",
    rescheduled_from: Appointment | None = None,
) -> Appointment:
    """Book one appointment, or raise :class:`SchedulingError` / :class:`SlotTaken`.

    ``start``/``end`` are aware instants (convert local wall times with
    ``rules.to_utc`` first). Without ``end``, the length is ``minutes`` or the
    type's default (for infusions: infusion + recovery). Without ``resource``,
    the first free chair or room of the right kind is taken.
    """
    _require(by, "scheduling.add_appointment")
    return _appointment_insert(
        patient=patient,
        appointment_type=appointment_type,
        location=location,
        start=start,
        by=by,
        actor=by,
        minutes=minutes,
        end=end,
        resource=resource,
        clinician=clinician,
        series=series,
        note=note,
        rescheduled_from=rescheduled_from,
    )


def _appointment_insert(
    *,
    patient: Patient,
    appointment_type: AppointmentType,
    location: Location,
    start: datetime,
    by: User | None,
    actor,
    minutes: int | None = None,
    end: datetime | None = None,
    resource: Resource | None = None,
    clinician=None,
    series: Series | None = None,
    note: str = "",
    rescheduled_from: Appointment | None = None,
    via: str = "",
) -> Appointment:
    """The booking itself, for a staff member (``by``) or a patient's link (``by`` None, ``actor``
    the link): every check, the constraints, the status log, the audit and the hook."""
    if timezone.is_naive(start) or (end is not None and timezone.is_naive(end)):
        raise ValueError("appointment_book needs aware datetimes")
    now = timezone.now()
    minutes = minutes or appointment_type.minutes
    end = end or start + timedelta(minutes=minutes)
    problems = selectors.booking_problems(
        patient=patient,
        appointment_type=appointment_type,
        location=location,
        start=start,
        end=end,
        resource=resource,
        clinician=clinician,
        now=now,
    )
    if problems:
        raise SchedulingError(problems)
    exclusive = appointment_type.clinician_exclusive
    length = int((end - start).total_seconds() // 60)

    def taken(field_name: str, message: str, conflict: str) -> SlotTaken:
        return SlotTaken(
            message,
            field=field_name,
            conflict=conflict,
            alternatives=_alternatives(appointment_type, location, start, length, patient, clinician, resource),
        )

    clash = selectors.overlap_conflict(
        patient=patient, start=start, end=end, resource=resource, clinician=clinician, clinician_exclusive=exclusive
    )
    if clash:
        raise taken(clash[0], clash[1], clash[0])

    if clinician is not None:
        _lock_clinician(clinician)
        exclusive_busy, monitoring_busy = selectors.clinician_busy(clinician, start, end)
        load = rules.clinician_load_problem(
            new=(start, end),
            new_is_exclusive=exclusive,
            exclusive_busy=exclusive_busy,
            monitoring_busy=monitoring_busy,
            capacity=location.monitoring_capacity,
        )
        if load:
            raise taken("clinician", load, "clinician")

    if resource is not None or appointment_type.resource_kind == AppointmentType.NeedsResource.NONE:
        candidates: Sequence[Resource | None] = [resource]
    else:
        candidates = selectors.free_resources(
            location=location, kind=appointment_type.resource_kind, start=start, end=end
        )[:5]
        if not candidates:
            kind = selectors.resource_kind_label(appointment_type.resource_kind)
            raise taken("start", f"No {kind} is free at that time.", "resource")

    for candidate in candidates:  # never empty (checked above), so an appointment is made
        appointment = Appointment(
            patient=patient,
            appointment_type=appointment_type,
            location=location,
            resource=candidate,
            clinician=clinician,
            start=start,
            end=end,
            clinician_exclusive=exclusive,
            series=series,
            note=note,
            rescheduled_from=rescheduled_from,
            created_by=by,
        )
        try:
            with transaction.atomic():
                appointment.save(force_insert=True)
            break
        except IntegrityError as exc:
            conflict = _constraint_conflict(exc)
            if conflict is None:
                raise
            # A chair we picked ourselves was taken in the meantime: try the next free one.
            if conflict == "resource" and resource is None and candidate is not candidates[-1]:
                continue
            field_name = {"resource": "start"}.get(conflict, conflict)
            raise taken(field_name, SLOT_TAKEN, conflict) from exc

    _record_move(appointment, from_status="", by=by, at=now, reason=f"Booked by the patient ({via})" if via else "")
    audit.record(
        actor=actor,
        action="scheduling.appointment.booked",
        verb=Verb.CREATE,
        category=AUDIT_CATEGORY,
        target=appointment,
        patient=patient,
        changes={
            "type": appointment_type.code,
            "location": location.pk,
            "resource": appointment.resource_id,
            "clinician": appointment.clinician_id,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "series": series.pk if series else None,
            "rescheduled_from": rescheduled_from.pk if rescheduled_from else None,
            **({"via": via} if via else {}),
        },
    )
    hooks.appointment_changed(appointment.pk)
    return appointment


# --- History from another system ---------------------------------------------------

# The outcomes a past visit is imported with (the other system's words reach these through the
# import's mapping file), and the status each one leaves the appointment in.
HISTORY_OUTCOMES: dict[str, str] = {
    "completed": AppointmentStatus.COMPLETED,
    "no_show": AppointmentStatus.NO_SHOW,
    "cancelled": AppointmentStatus.CANCELLED,
    "late_cancelled": AppointmentStatus.CANCELLED,
}
# A visit that took place or was missed held its chair, room and clinician: it clashes with another
# such visit, not only with a booking that still stands (the exclusion constraints' statuses).
_HELD_STATUSES = (*ACTIVE_STATUSES, AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW)
# Another system rarely keeps when a visit was cancelled. The attendance report tells a late
# cancellation from a timely one by the time in the status log, so a late one is logged at the
# start and a timely one further before it than the longest window the reports accept (168 hours).
TIMELY_CANCEL_LEAD = timedelta(days=8)


def _history_clash(*, patient, start, end, resource, clinician, exclusive) -> tuple[str, str] | None:
    held = Appointment.objects.filter(
        status__in=_HELD_STATUSES, start__lt=end, start__gt=start - MAX_APPOINTMENT_LENGTH, end__gt=start
    )
    if resource is not None and held.filter(resource=resource).exists():
        return "start", f"{resource.name} was already taken at that time."
    if held.filter(patient=patient).exists():
        return "patient", "This patient already has a visit at that time."
    if clinician is not None and exclusive and held.filter(clinician=clinician, clinician_exclusive=True).exists():
        return "clinician", f"{clinician} was already seeing another patient at that time."
    return None


@transaction.atomic
def appointment_import_history(
    *,
    patient: Patient,
    appointment_type: AppointmentType,
    location: Location,
    start: datetime,
    end: datetime,
    outcome: str,
    by: User,
    source: str,
    clinician=None,
    note: str = "",
) -> Appointment:
    """A past visit from another system's history, with its outcome (``HISTORY_OUTCOMES``).

    Not a booking: today's opening hours and booking rules do not judge the past, and no listener
    is told (``hooks.appointment_changed`` is not called), so no reminder, pre-visit packet, fee or
    invoice follows from history. What it keeps of a booking: the chair or room its type needs,
    the clinician a type seen alone needs, and the clashes. A visit held (completed or no-show) is
    checked against every other held or standing visit of its patient, chair or room and clinician,
    then inserted as booked so that the exclusion constraints have the last word, then moved to
    its outcome; a cancelled one held no slot and clashes with nothing. The status log records the
    outcome at the time the attendance report reads it. Raises :class:`SchedulingError`.
    """
    _require(by, "scheduling.add_appointment")
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise ValueError("appointment_import_history needs aware datetimes")
    if outcome not in HISTORY_OUTCOMES:
        raise SchedulingError({"status": [f"Unknown outcome; give one of: {', '.join(HISTORY_OUTCOMES)}."]})
    now = timezone.now()
    if start >= now:
        raise SchedulingError({"start": ["Only a visit that has started can be imported with its outcome."]})
    if end <= start:
        raise SchedulingError({"end": ["The end must be after the start."]})
    if end - start > MAX_APPOINTMENT_LENGTH:
        raise SchedulingError({"end": ["An appointment cannot be longer than 12 hours."]})
    exclusive = appointment_type.clinician_exclusive
    if exclusive and clinician is None:
        raise SchedulingError({"clinician": [f"Give the clinician for this {appointment_type.name.lower()}."]})
    status = HISTORY_OUTCOMES[outcome]
    held = status != AppointmentStatus.CANCELLED
    if held:
        clash = _history_clash(
            patient=patient, start=start, end=end, resource=None, clinician=clinician, exclusive=exclusive
        )
        if clash:
            raise SlotTaken(clash[1], field=clash[0], conflict=clash[0])
    resource = None
    if appointment_type.resource_kind != AppointmentType.NeedsResource.NONE:
        kind = appointment_type.resource_kind
        for candidate in Resource.objects.filter(location=location, kind=kind).order_by(
            "-active", "sort_order", "name"
        ):
            taken = held and _history_clash(
                patient=patient, start=start, end=end, resource=candidate, clinician=None, exclusive=False
            )
            if not taken:
                resource = candidate
                break
        if resource is None:
            raise SlotTaken(
                f"No {selectors.resource_kind_label(kind)} at {location.name} was free at that time.",
                conflict="resource",
            )
    appointment = Appointment(
        patient=patient,
        appointment_type=appointment_type,
        location=location,
        resource=resource,
        clinician=clinician,
        start=start,
        end=end,
        clinician_exclusive=exclusive,
        note=note,
        created_by=by,
        status=AppointmentStatus.BOOKED if held else status,
        cancel_reason="" if held else ("Late cancellation" if outcome == "late_cancelled" else "Cancelled"),
    )
    try:
        with transaction.atomic():
            appointment.save(force_insert=True)
    except IntegrityError as exc:
        conflict = _constraint_conflict(exc)
        if conflict is None:
            raise
        raise SlotTaken(SLOT_TAKEN, field={"resource": "start"}.get(conflict, conflict), conflict=conflict) from exc
    if held:
        appointment.status = status
        appointment.version += 1
        appointment.save(update_fields=["status", "version", "updated_at"])
    at = {
        "completed": min(end, now),
        "no_show": start,
        "late_cancelled": start,
        "cancelled": start - TIMELY_CANCEL_LEAD,
    }[outcome]
    reason = f"Imported from {source}"[:200]
    AppointmentStatusChange.objects.create(
        appointment=appointment, from_status="", to_status=status, by=by, at=at, reason=reason
    )
    audit.record(
        actor=by,
        action="scheduling.appointment.imported",
        verb=Verb.CREATE,
        category=AUDIT_CATEGORY,
        target=appointment,
        patient=patient,
        changes={
            "type": appointment_type.code,
            "location": location.pk,
            "resource": appointment.resource_id,
            "clinician": appointment.clinician_id,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "outcome": outcome,
            "source": source,
        },
    )
    return appointment


@transaction.atomic
def appointment_book_by_patient_link(
    *,
    patient: Patient,
    appointment_type: AppointmentType,
    location: Location,
    start: datetime,
    clinician=None,
    via: str,
    note: str = "",
    rescheduled_from: Appointment | None = None,
) -> Appointment:
    """The patient books their own visit through a link (no staff user): the same checks,
    constraints and hook as the desk's booking, audited as the patient via the link. The caller
    (the self-booking service) has checked the link and the self-booking policy; this checks the
    calendar. Raises :class:`SchedulingError` / :class:`SlotTaken` like ``appointment_book``."""
    return _appointment_insert(
        patient=patient,
        appointment_type=appointment_type,
        location=location,
        start=start,
        by=None,
        actor=PatientLinkActor(patient_mrn=patient.mrn, via=via),
        clinician=clinician,
        note=note,
        rescheduled_from=rescheduled_from,
        via=via,
    )


# --- Status moves -----------------------------------------------------------------


def _lock(appointment: Appointment, expected_version: int | None) -> Appointment:
    locked = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("location", "patient", "appointment_type")
        .get(pk=appointment.pk)
    )
    if expected_version is not None and locked.version != expected_version:
        raise StaleAppointment(
            f"Someone else changed this appointment a moment ago (it is now {locked.get_status_display().lower()}). "
            "Reload and try again."
        )
    return locked


@transaction.atomic
def appointment_transition(
    *,
    appointment: Appointment,
    to_status: str,
    by: User,
    reason: str = "",
    expected_version: int | None = None,
) -> Appointment:
    """Move an appointment along the table in ``rules.TRANSITIONS``; record who, when and why."""
    if to_status not in rules.TRANSITION_PERMISSION:
        raise SchedulingError({"to_status": ["Unknown status."]})
    _require(by, rules.TRANSITION_PERMISSION[to_status])
    locked = _lock(appointment, expected_version)
    now = timezone.now()
    reason = reason.strip()[:200]
    problem = rules.transition_problem(
        current=locked.status,
        target=to_status,
        reason=reason,
        start=locked.start,
        at=now,
        tz_name=locked.location.time_zone,
        no_show_grace_minutes=locked.location.no_show_grace_minutes,
    )
    if problem:
        field_name = "reason" if problem.startswith("Give a reason") else NON_FIELD_ERRORS
        raise SchedulingError({field_name: [problem]})
    if to_status == AppointmentStatus.CHECKED_IN:
        refusals = hooks.check_in_refusals(locked)
        if refusals:
            raise SchedulingError({NON_FIELD_ERRORS: refusals})
    from_status = locked.status
    locked.status = to_status
    fields = ["status", "version", "updated_at"]
    if to_status == AppointmentStatus.CANCELLED:
        locked.cancel_reason = reason
        fields.append("cancel_reason")
    locked.version += 1
    locked.save(update_fields=fields)
    _record_move(locked, from_status=from_status, by=by, at=now, reason=reason)
    audit.record(
        actor=by,
        action=f"scheduling.appointment.{to_status}",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=locked,
        patient=locked.patient,
        changes={"status": [from_status, to_status], **({"reason": reason} if reason else {})},
    )
    hooks.appointment_changed(locked.pk)
    return locked


# Why each step was taken, in the status log, when the clinical record moved the appointment.
_CARE_REASON: dict[str, str] = {
    AppointmentStatus.CHECKED_IN: "Checked in as the care began (no front-desk check-in)",
}


@transaction.atomic
def appointment_follow_care(*, appointment: Appointment, to_status: str, by: User, reason: str) -> Appointment:
    """Move the appointment along with its clinical record (the session in the chair or in
    recovery: in progress; signed or discharged: completed; not treated: cancelled with the
    reason), through every status between, each logged and audited. A step skipped by the desk
    is recorded as the care's (an intake signed with no check-in is checked in, then in
    progress, then completed). Called by the clinical services, which have checked their own
    permission: the move is a consequence of the care, so it needs no scheduling permission, and
    the same-day check-in rule (for the desk) does not apply to a visit that took place. A
    cancelled or voided visit is left as it is."""
    locked = _lock(appointment, None)
    path = rules.care_path(current=locked.status, target=to_status)
    if not path:
        return locked
    now = timezone.now()
    for step in path:
        from_status = locked.status
        why = (reason if step == to_status else _CARE_REASON.get(step, reason))[:200]
        locked.status = step
        locked.version += 1
        fields = ["status", "version", "updated_at"]
        if step == AppointmentStatus.CANCELLED:
            locked.cancel_reason = why
            fields.append("cancel_reason")
        locked.save(update_fields=fields)
        _record_move(locked, from_status=from_status, by=by, at=now, reason=why)
        audit.record(
            actor=by,
            action=f"scheduling.appointment.{step}",
            verb=Verb.UPDATE,
            category=AUDIT_CATEGORY,
            target=locked,
            patient=locked.patient,
            changes={"status": [from_status, step], "reason": why},
        )
    hooks.appointment_changed(locked.pk)
    return locked


@dataclass(frozen=True)
class PatientLinkActor:
    """Who the audit trail names for a move the patient made through a reminder link.

    Not a user and never authenticated: ``audit.record`` keeps its ``username`` text (no user id,
    no role), so the trail reads "the patient, via the link", never a staff member.
    """

    patient_mrn: str
    via: str = "reminder link"
    is_authenticated: bool = False

    @property
    def username(self) -> str:
        return f"patient {self.patient_mrn} ({self.via})"


@transaction.atomic
def appointment_transition_by_patient_link(
    *, appointment: Appointment, to_status: str, reason: str = "", via: str = "reminder link"
) -> Appointment:
    """The patient confirms or cancels their own visit through a reminder link (no staff user), or
    their online booking's link (``via``).

    Only ``rules.PATIENT_LINK_MOVES`` are open, and only before the visit starts. The move is
    recorded with no staff ``by`` and audited as the patient via the link. The caller (the link
    service) has already checked the token; this checks the calendar.
    """
    if to_status not in rules.PATIENT_LINK_MOVES:
        raise SchedulingError({"to_status": ["Patients can only confirm or cancel."]})
    locked = _lock(appointment, None)
    now = timezone.now()
    if locked.status not in rules.PATIENT_LINK_MOVES[to_status] or locked.start <= now:
        raise SchedulingError("This appointment can no longer be changed online; please call the clinic.")
    reason = (reason.strip() or f"Cancelled by the patient ({via})")[:200] if to_status == "cancelled" else ""
    from_status = locked.status
    locked.status = to_status
    fields = ["status", "version", "updated_at"]
    if to_status == AppointmentStatus.CANCELLED:
        locked.cancel_reason = reason
        fields.append("cancel_reason")
    locked.version += 1
    locked.save(update_fields=fields)
    _record_move(locked, from_status=from_status, by=None, at=now, reason=reason or f"By the patient ({via})")
    audit.record(
        actor=PatientLinkActor(patient_mrn=locked.patient.mrn, via=via),
        action=f"scheduling.appointment.{to_status}",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=locked,
        patient=locked.patient,
        changes={"status": [from_status, to_status], "via": via, **({"reason": reason} if reason else {})},
    )
    hooks.appointment_changed(locked.pk)
    return locked


def appointment_cancel(
    *, appointment: Appointment, by: User, reason: str, expected_version: int | None = None
) -> Appointment:
    return appointment_transition(
        appointment=appointment,
        to_status=AppointmentStatus.CANCELLED,
        by=by,
        reason=reason,
        expected_version=expected_version,
    )


@transaction.atomic
def appointment_reschedule(
    *,
    appointment: Appointment,
    by: User,
    start: datetime,
    minutes: int | None = None,
    end: datetime | None = None,
    location: Location | None = None,
    resource: Resource | None = None,
    clinician=None,
    expected_version: int | None = None,
) -> Appointment:
    """Cancel the old row (reason "rescheduled") and book a new one linked to it, atomically.

    The old booking is released first, so the new time may overlap the old one
    (moving a visit 30 minutes later). If the new slot is refused, nothing changes.
    Without ``location`` the visit stays at its site; with one, the chair or room
    must be of that site (the booking checks refuse one of another).
    """
    _require(by, "scheduling.manage_bookings")
    locked = _lock(appointment, expected_version)
    if locked.status not in (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED):
        raise SchedulingError(f"A {locked.get_status_display().lower()} appointment cannot be moved.")
    now = timezone.now()
    from_status = locked.status
    locked.status = AppointmentStatus.CANCELLED
    locked.cancel_reason = rules.RESCHEDULED_REASON
    locked.version += 1
    locked.save(update_fields=["status", "cancel_reason", "version", "updated_at"])
    _record_move(locked, from_status=from_status, by=by, at=now, reason=rules.RESCHEDULED_REASON)
    if end is None:
        end = start + timedelta(minutes=minutes or locked.minutes)
    new = appointment_book(
        patient=locked.patient,
        appointment_type=locked.appointment_type,
        location=location or locked.location,
        start=start,
        end=end,
        by=by,
        resource=resource,
        clinician=clinician,
        series=locked.series,
        note=locked.note,
        rescheduled_from=locked,
    )
    audit.record(
        actor=by,
        action="scheduling.appointment.rescheduled",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=locked,
        patient=locked.patient,
        changes={
            "status": [from_status, AppointmentStatus.CANCELLED],
            "start": [locked.start.isoformat(), new.start.isoformat()],
            **({"location": [locked.location_id, new.location_id]} if new.location_id != locked.location_id else {}),
            **({"resource": [locked.resource_id, new.resource_id]} if new.resource_id != locked.resource_id else {}),
            "replaced_by": new.pk,
        },
    )
    hooks.appointment_changed(locked.pk)
    return new


@transaction.atomic
def appointment_confirm_escort(
    *, appointment: Appointment, by: User, confirmed: bool = True, expected_version: int | None = None
) -> Appointment:
    """Record that the patient's escort home is arranged (or take it back)."""
    _require(by, "scheduling.change_appointment")
    locked = _lock(appointment, expected_version)
    if not locked.is_active:
        raise SchedulingError("Only upcoming or current appointments need an escort confirmation.")
    before = locked.escort_confirmed_at
    locked.escort_confirmed_at = timezone.now() if confirmed else None
    locked.escort_confirmed_by = by if confirmed else None
    locked.version += 1
    locked.save(update_fields=["escort_confirmed_at", "escort_confirmed_by", "version", "updated_at"])
    audit.record(
        actor=by,
        action="scheduling.appointment.escort_confirmed" if confirmed else "scheduling.appointment.escort_unconfirmed",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=locked,
        patient=locked.patient,
        changes={"escort_confirmed": [before is not None, confirmed]},
    )
    return locked


# --- Series -----------------------------------------------------------------------


@transaction.atomic
def series_book(
    *,
    patient: Patient,
    appointment_type: AppointmentType,
    location: Location,
    occurrences: Sequence[rules.PlannedOccurrence],
    by: User,
    minutes: int | None = None,
    resource: Resource | None = None,
    clinician=None,
    note: str = "",
    local_time: time | None = None,
    weekdays: Sequence[int] = (),
) -> Series:
    """Book every occurrence as its own appointment, all or nothing.

    A dry run (``selectors.series_check``) first reports each occurrence that
    cannot be booked, with alternatives; only when all pass are the rows
    inserted, and the exclusion constraints still have the final word.
    """
    _require(by, "scheduling.add_appointment")
    if not occurrences:
        raise SchedulingError("A series needs at least one occurrence.")
    minutes = minutes or appointment_type.minutes
    now = timezone.now()
    checks = selectors.series_check(
        patient=patient,
        appointment_type=appointment_type,
        location=location,
        occurrences=occurrences,
        minutes=minutes,
        resource=resource,
        clinician=clinician,
        now=now,
    )
    if any(not c.ok for c in checks):
        raise SeriesConflicts(checks)
    series = Series.objects.create(
        patient=patient,
        appointment_type=appointment_type,
        location=location,
        local_time=local_time,
        time_zone=location.time_zone,
        weekdays=",".join(str(w) for w in weekdays),
        planned_count=len(occurrences),
        note=note,
        created_by=by,
    )
    for check in checks:
        if check.start is None:  # never: an occurrence without an instant has a problem, refused above
            raise SeriesConflicts(checks)
        try:
            appointment_book(
                patient=patient,
                appointment_type=appointment_type,
                location=location,
                start=check.start,
                minutes=minutes,
                by=by,
                resource=resource,
                clinician=clinician,
                series=series,
                note=note,
            )
        except SchedulingError as exc:
            check.problems = [m for messages in exc.message_dict.values() for m in messages]
            check.alternatives = getattr(exc, "alternatives", [])
            raise SeriesConflicts(checks) from exc
    audit.record(
        actor=by,
        action="scheduling.series.booked",
        verb=Verb.CREATE,
        category=AUDIT_CATEGORY,
        target=series,
        patient=patient,
        changes={"type": appointment_type.code, "occurrences": len(occurrences)},
    )
    return series


# --- Calendar feeds -----------------------------------------------------------------


@transaction.atomic
def calendar_feed_issue(*, clinician, by: User) -> str:
    """Revoke the clinician's live feed (if any) and issue a new secret; returns the secret once."""
    _require(by, "scheduling.subscribe_calendar_feed")
    if by.pk != clinician.pk:
        raise PermissionDenied
    now = timezone.now()
    CalendarFeed.objects.filter(clinician=clinician, revoked_at__isnull=True).update(revoked_at=now)
    token, token_hash = tokens.issue()  # 256 bits (security-reference A9)
    feed = CalendarFeed.objects.create(clinician=clinician, token_hash=token_hash)
    audit.record(
        actor=by, action="scheduling.calendar_feed.issued", verb=Verb.CREATE, category=Category.SECURITY, target=feed
    )
    return token


@transaction.atomic
def calendar_feed_revoke(*, clinician, by: User) -> bool:
    _require(by, "scheduling.subscribe_calendar_feed")
    if by.pk != clinician.pk:
        raise PermissionDenied
    feed = selectors.live_feed(clinician=clinician)
    if feed is None:
        return False
    feed.revoked_at = timezone.now()
    feed.save(update_fields=["revoked_at"])
    audit.record(
        actor=by, action="scheduling.calendar_feed.revoked", verb=Verb.DELETE, category=Category.SECURITY, target=feed
    )
    return True


def calendar_feed_used(*, feed: CalendarFeed, events: int) -> None:
    """Note the fetch (last use shown to the clinician) and audit the export of schedule data."""
    now = timezone.now()
    CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
    audit.record(
        actor=feed.clinician,
        action="scheduling.calendar_feed.fetched",
        verb=Verb.EXPORT,
        category=AUDIT_CATEGORY,
        target=feed,
        changes={"events": events},
    )
