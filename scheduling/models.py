"""The clinic calendar: places, resources, hours, and one row per appointment.

The database, not the Python code, is the last word on double-booking: the
exclusion constraints on :class:`Appointment` refuse two active bookings of one
chair or room, of one patient, or of one clinician who cannot be in two places
(security-reference R1). Services check first so that the user gets a helpful
message; the constraints make the race harmless.
"""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeBoundary, RangeOperators
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Func, Q
from django.utils import formats
from phonenumber_field.modelfields import PhoneNumberField

from core.formatting import zone_label
from core.triggers import append_only
from scheduling.rules import AppointmentStatus, default_minutes


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"{value!r} is not an IANA time zone name (e.g. America/New_York).") from exc


def _default_time_zone() -> str:
    return settings.TIME_ZONE


class Weekday(models.IntegerChoices):
    # datetime.date.weekday() numbering.
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class ResourceKind(models.TextChoices):
    CHAIR = "chair", "Infusion chair"
    ROOM = "room", "Consult room"


class Location(models.Model):
    """A clinic site. Wall-clock times of its bookings are read in its own time zone."""

    name = models.CharField(max_length=120, unique=True)
    time_zone = models.CharField(
        max_length=64,
        default=_default_time_zone,
        validators=[validate_time_zone],
        help_text="IANA name, e.g. America/New_York. Opening hours and bookings are local to this zone.",
    )
    address = models.CharField(max_length=300, blank=True)
    phone = PhoneNumberField(blank=True)
    active = models.BooleanField(default=True)
    # Clinic policy, not a clinical source: the clinical reference finds that
    # monitoring practice varies a lot between clinics ([S83]) and gives no
    # sourced nurse-to-chair ratio, so each site sets its own.
    monitoring_capacity = models.PositiveSmallIntegerField(
        "Chairs one monitoring clinician may watch at once (clinic policy)",
        default=4,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
    )
    # Clinic policy: how long after the start time a missing patient may be marked a no-show
    # (clinical-reference §5.2 "after grace period"; no sourced number).
    no_show_grace_minutes = models.PositiveSmallIntegerField(
        "Minutes after the start before a no-show may be recorded (clinic policy)",
        default=15,
        validators=[MaxValueValidator(240)],
    )

    class Meta:
        ordering = ["name"]
        permissions = [("manage_locations", "Can manage locations, resources and hours")]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def time_zone_label(self) -> str:
        """The zone as people write it ("America/New York"), not its database key."""
        return zone_label(self.time_zone)


class StaffLocation(models.Model):
    """A member of staff works at this location: a user who is not chain-wide
    (``accounts.User.chain_wide``) sees the patients, calendars and worklists of these only
    (``scheduling.access.location_ids_for``)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_locations")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="staff")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "location"], name="stafflocation_once_per_user")]

    def __str__(self) -> str:
        return f"{self.user} at {self.location}"


class PatientLocation(models.Model):
    """A location where a patient has care: an appointment there (any status), a waitlist entry,
    an inquiry naming it, or the registering desk's location. Kept by the database (triggers on
    those tables), never removed: the history of care does not move, so a site that once saw a
    patient keeps them. What a scoped user's patient list and chart access are filtered by."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "location"], name="patientlocation_once"),
        ]
        # The patient list of a scoped user: the patients of a few locations.
        indexes = [models.Index(fields=["location", "patient"], name="patientlocation_by_location")]

    def __str__(self) -> str:
        return f"Patient #{self.patient_id} at {self.location}"


def places_patient(name: str, *, patient: str = "patient_id", location: str = "location_id") -> pgtrigger.Trigger:
    """A trigger recording that the row's patient has care at the row's location
    (:class:`PatientLocation`), whatever path writes the row."""
    return pgtrigger.Trigger(
        name=name,
        when=pgtrigger.After,
        operation=pgtrigger.Insert | pgtrigger.UpdateOf(patient, location),
        # The column names come from the code, never from input.
        func=f"""
            IF NEW.{patient} IS NOT NULL AND NEW.{location} IS NOT NULL THEN
                INSERT INTO scheduling_patientlocation (patient_id, location_id)
                VALUES (NEW.{patient}, NEW.{location})
                ON CONFLICT DO NOTHING;
            END IF;
            RETURN NULL;
        """,  # noqa: S608  # nosec B608
    )


class OpeningHours(models.Model):
    """One opening window on a weekday; several rows make a split day (e.g. a lunch break).

    A window applies from ``effective_from`` to ``effective_until`` (local days, inclusive;
    blank = open-ended), so hours added or ended today leave the open hours of earlier days, and
    the utilisation figures built on them, as they were.
    """

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField()
    effective_from = models.DateField(
        null=True, blank=True, help_text="First local day these hours apply. Blank: since the location opened."
    )
    effective_until = models.DateField(
        null=True, blank=True, help_text="Last local day these hours apply. Blank: until further notice."
    )

    class Meta:
        ordering = ["location", "weekday", "opens"]
        verbose_name_plural = "opening hours"
        constraints = [
            models.CheckConstraint(condition=Q(closes__gt=F("opens")), name="openinghours_closes_after_opens"),
            models.CheckConstraint(
                condition=Q(effective_from__isnull=True)
                | Q(effective_until__isnull=True)
                | Q(effective_until__gte=F("effective_from")),
                name="openinghours_effective_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {formats.time_format(self.opens)}–{formats.time_format(self.closes)}"


class Closure(models.Model):
    """Whole local days a site is shut (holidays, training days, a burst pipe)."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="closures")
    starts_on = models.DateField()
    ends_on = models.DateField(help_text="Last closed day (inclusive).")
    reason = models.CharField(max_length=120)

    class Meta:
        ordering = ["location", "starts_on"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="closure_ends_on_or_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.reason} ({self.starts_on:%Y-%m-%d}–{self.ends_on:%Y-%m-%d})"


class Resource(models.Model):
    """An infusion chair or a consult room: bookable, one patient at a time."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="resources")
    kind = models.CharField(max_length=10, choices=ResourceKind.choices)
    name = models.CharField(max_length=60)
    active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["location", "kind", "sort_order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["location", "name"], name="resource_name_unique_per_location"),
        ]

    def __str__(self) -> str:
        return self.name


class WallTimeRange(Func):
    """A weekday's [starts, ends) wall-clock window as a range on one fixed date (PostgreSQL has no
    time range type; date + time is immutable, so an exclusion constraint may use it)."""

    template = "TSRANGE(DATE '2000-01-03' + %(expressions)s, '[)')"
    arg_joiner = ", DATE '2000-01-03' + "
    output_field = DateTimeRangeField()


class ClinicianHours(models.Model):
    """When a clinician works at a site, by weekday (several rows for split shifts)."""

    clinician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="working_hours")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="clinician_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    starts = models.TimeField()
    ends = models.TimeField()

    class Meta:
        ordering = ["clinician", "weekday", "starts"]
        verbose_name_plural = "clinician hours"
        constraints = [
            models.CheckConstraint(condition=Q(ends__gt=F("starts")), name="clinicianhours_ends_after_starts"),
            # One person cannot work two windows at once, at one site or across sites.
            ExclusionConstraint(
                name="clinicianhours_no_overlap",
                expressions=[
                    ("clinician", RangeOperators.EQUAL),
                    ("weekday", RangeOperators.EQUAL),
                    (WallTimeRange("starts", "ends"), RangeOperators.OVERLAPS),
                ],
                violation_error_message="These hours overlap other working hours of the same clinician.",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.clinician} · {self.location} · {self.get_weekday_display()} "
            f"{formats.time_format(self.starts)}–{formats.time_format(self.ends)}"
        )


class AppointmentType(models.Model):
    class Code(models.TextChoices):
        CONSULTATION = "consultation", "Intake consultation"
        INFUSION = "infusion", "Infusion"
        FOLLOW_UP = "follow_up", "Follow-up"
        BOOSTER = "booster", "Booster / maintenance infusion"
        ADJUNCT = "adjunct", "Integration or psychotherapy session"

    class NeedsResource(models.TextChoices):
        CHAIR = "chair", "Infusion chair"
        ROOM = "room", "Consult room"
        NONE = "none", "Nothing (e.g. telehealth)"

    class Colour(models.TextChoices):
        BLUE = "blue", "Blue"
        PURPLE = "purple", "Purple"
        TEAL = "teal", "Teal"
        AMBER = "amber", "Amber"
        ROSE = "rose", "Rose"
        GREY = "grey", "Grey"

    code = models.CharField(max_length=20, choices=Code.choices, unique=True)
    name = models.CharField(max_length=80)
    default_minutes = models.PositiveSmallIntegerField(
        default=60,
        validators=[MinValueValidator(5), MaxValueValidator(720)],
        help_text="Length of a booking when the type has no infusion and recovery times.",
    )
    infusion_minutes = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(600)],
        help_text="Chair types only. 0.5 mg/kg over 40 min is the most studied protocol [S2][S3].",
    )
    recovery_minutes = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(600)],
        help_text="Chair types only: observation after the infusion (clinic policy; no sourced IV default).",
    )
    resource_kind = models.CharField(max_length=10, choices=NeedsResource.choices, default=NeedsResource.ROOM)
    clinician_exclusive = models.BooleanField(
        default=True,
        help_text="The clinician cannot be in two places (intake consultation). Off for monitored infusions, "
        "where the location's monitoring capacity applies instead.",
    )
    requires_escort = models.BooleanField(
        default=False,
        help_text="Patients must leave with a responsible adult after sedation [S26]; front desk confirms the escort.",
    )
    colour = models.CharField(max_length=10, choices=Colour.choices, default=Colour.BLUE)
    active = models.BooleanField(default=True)
    self_bookable = models.BooleanField(
        "Patients may book it themselves",
        default=False,
        help_text="Clinic policy: offered on the patient's booking link and the waitlist. The self-booking "
        "policy (Settings) says how far ahead and whether the front desk approves each booking.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(resource_kind="chair") | Q(infusion_minutes__isnull=True, recovery_minutes__isnull=True),
                name="appointmenttype_infusion_times_only_for_chairs",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def minutes(self) -> int:
        """Default booking length: chair time is infusion plus recovery."""
        return default_minutes(
            default=self.default_minutes, infusion=self.infusion_minutes, recovery=self.recovery_minutes
        )

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.minutes)


MAX_APPOINTMENT_LENGTH = timedelta(hours=12)

# The statuses that hold a slot; the exclusion constraints apply to these only.
ACTIVE_STATUSES = (
    AppointmentStatus.BOOKED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.CHECKED_IN,
    AppointmentStatus.IN_PROGRESS,
)


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Series(models.Model):
    """Several appointments booked together, e.g. an induction series of six infusions.

    Each occurrence is its own :class:`Appointment` row, so editing or cancelling
    one never touches the others (the OpenEMR #3661 lesson, clinical-reference §1.2).
    The local wall time and zone are kept because that is what the series means.
    """

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="appointment_series")
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    local_time = models.TimeField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    weekdays = models.CharField(max_length=20, blank=True, help_text="Comma-separated weekday numbers, Monday = 0.")
    planned_count = models.PositiveSmallIntegerField(default=0)
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "series"

    def __str__(self) -> str:
        return f"{self.appointment_type} series #{self.pk}"


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


def _no_overlap(field: str, name: str, condition: Q) -> ExclusionConstraint:
    return ExclusionConstraint(
        name=name,
        expressions=[
            (field, RangeOperators.EQUAL),
            # Half-open [start, end): a booking ending at 10:00 and one starting at 10:00 do not collide.
            (
                TsTzRange("start", "end", RangeBoundary(inclusive_lower=True, inclusive_upper=False)),
                RangeOperators.OVERLAPS,
            ),
        ],
        condition=condition,
        violation_error_message="That slot was just taken.",
    )


_ACTIVE = Q(status__in=[s.value for s in ACTIVE_STATUSES])


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Appointment(models.Model):
    """One occurrence: a patient, a time, a place, and who sees them.

    Instants are stored in UTC; the location's zone turns them into wall time.
    Change it only through ``scheduling.services`` (status moves are recorded,
    audited and version-checked there).
    """

    Status = AppointmentStatus

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="appointments")
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="appointments")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="appointments")
    resource = models.ForeignKey(Resource, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments")
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="scheduled_appointments",
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    status = models.CharField(max_length=20, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED)
    cancel_reason = models.CharField(max_length=200, blank=True)
    rescheduled_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="rescheduled_to"
    )
    series = models.ForeignKey(Series, null=True, blank=True, on_delete=models.PROTECT, related_name="occurrences")
    # Copied from the type at booking: an exclusion constraint cannot join to another table.
    clinician_exclusive = models.BooleanField(default=True)
    escort_confirmed_at = models.DateTimeField(null=True, blank=True)
    escort_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start", "id"]
        permissions = [
            ("manage_bookings", "Can move and cancel appointments and record no-shows"),
            ("mark_entered_in_error", "Can mark an appointment as entered in error"),
            ("subscribe_calendar_feed", "Can have a private calendar feed of own appointments"),
        ]
        indexes = [
            models.Index(fields=["location", "start"], name="appointment_location_start"),
            models.Index(fields=["patient", "start"], name="appointment_patient_start"),
            models.Index(fields=["clinician", "start"], name="appointment_clinician_start"),
            models.Index(fields=["resource", "start"], name="appointment_resource_start"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="appointment_end_after_start"),
            # Also what lets overlap queries use an index: a booking that overlaps [a, b)
            # starts after a - 12 h.
            models.CheckConstraint(
                condition=Q(end__lte=F("start") + MAX_APPOINTMENT_LENGTH), name="appointment_at_most_12_hours"
            ),
            models.CheckConstraint(
                condition=~Q(status=AppointmentStatus.CANCELLED) | ~Q(cancel_reason=""),
                name="appointment_cancel_has_reason",
            ),
            _no_overlap("resource", "appointment_no_overlap_resource", _ACTIVE),
            _no_overlap("patient", "appointment_no_overlap_patient", _ACTIVE),
            _no_overlap("clinician", "appointment_no_overlap_clinician", _ACTIVE & Q(clinician_exclusive=True)),
        ]
        triggers = [places_patient("appointment_places_patient")]

    def __str__(self) -> str:
        return f"{self.appointment_type} #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


class AppointmentStatusChange(models.Model):
    """Who moved an appointment from one status to another, when and why (append-only)."""

    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=20, choices=AppointmentStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=AppointmentStatus.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["appointment", "at", "id"]
        indexes = [models.Index(fields=["appointment", "at"], name="statuschange_appointment_at")]
        triggers = [
            append_only("statuschange_append_only"),
        ]

    def __str__(self) -> str:
        return f"{self.from_status or '—'} → {self.to_status}"


class CalendarFeed(models.Model):
    """A clinician's private iCalendar feed. Only a hash of the secret is stored."""

    clinician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinician"], condition=Q(revoked_at__isnull=True), name="calendarfeed_one_live_per_clinician"
            ),
        ]

    def __str__(self) -> str:
        return f"Feed of {self.clinician} ({'revoked' if self.revoked_at else 'live'})"


# --- Self-booking and the waitlist ---------------------------------------------------


class SelfBookingPolicy(models.Model):
    """How patients book their own visits from a link, and how freed slots reach the waitlist.

    One row (id 1), edited by administrators in Settings. Every number is clinic policy (the
    clinical reference has nothing to say about booking windows), bounded here and in the database.
    """

    horizon_days = models.PositiveSmallIntegerField(
        "How far ahead patients may book (days)",
        default=28,
        validators=[MinValueValidator(1), MaxValueValidator(180)],
        help_text="Clinic policy, 1 to 180 days: no slot later than this is offered or accepted.",
    )
    min_notice_hours = models.PositiveSmallIntegerField(
        "Minimum notice (hours)",
        default=24,
        validators=[MaxValueValidator(336)],
        help_text="Clinic policy, 0 to 336 hours: no slot sooner than this is offered or accepted, so the "
        "front desk can prepare the visit.",
    )
    requires_approval = models.BooleanField(
        "The front desk approves each online booking",
        default=True,
        help_text="On: the slot is held for the patient and listed as a request until the desk approves "
        "or declines it. Off: the booking stands at once.",
    )
    link_expiry_days = models.PositiveSmallIntegerField(
        "A booking link works for (days)",
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text="Clinic policy, 1 to 60 days.",
    )
    waitlist_offer_count = models.PositiveSmallIntegerField(
        "Waitlisted patients told of a freed slot",
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
        help_text="Clinic policy, 1 to 20: when a booking is cancelled, this many patients waiting for its "
        "type at its location (longest waiting first) get a link; the first to claim it gets it.",
    )
    offer_expiry_hours = models.PositiveSmallIntegerField(
        "A waitlist offer works for (hours)",
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(72)],
        help_text="Clinic policy, 1 to 72 hours (never past the slot's start less the minimum notice).",
    )
    dob_max_failures = models.PositiveSmallIntegerField(
        "Wrong dates of birth before a link locks",
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="Security policy, 1 to 10.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "self-booking policy"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="selfbookingpolicy_singleton"),
            models.CheckConstraint(
                condition=Q(horizon_days__gte=1, horizon_days__lte=180), name="selfbookingpolicy_horizon_range"
            ),
            models.CheckConstraint(condition=Q(min_notice_hours__lte=336), name="selfbookingpolicy_notice_range"),
            models.CheckConstraint(
                condition=Q(waitlist_offer_count__gte=1, waitlist_offer_count__lte=20),
                name="selfbookingpolicy_offer_count_range",
            ),
        ]

    def __str__(self) -> str:
        return "Self-booking policy"

    def clean(self) -> None:
        super().clean()
        notice, horizon = self.min_notice_hours, self.horizon_days
        if notice is not None and horizon is not None and notice >= horizon * 24:
            raise ValidationError(
                {"min_notice_hours": "The minimum notice must be shorter than how far ahead patients may book."}
            )


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    BOOKED = "booked", "Booked from the waitlist"
    REMOVED = "removed", "Removed"


class WaitlistEntry(models.Model):
    """A patient who wants an earlier slot of a type at a location (optionally before a date)."""

    Status = WaitlistStatus

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="waitlist_entries")
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    before = models.DateField("Wanted before", null=True, blank=True, help_text="Blank: any earlier slot.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )  # None: the patient, through their booking link
    created_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=200, blank=True)
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )  # the booking a claimed offer made

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "waitlist entries"
        indexes = [
            models.Index(fields=["appointment_type", "location", "status", "created_at"], name="waitlist_queue"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "appointment_type", "location"],
                condition=Q(status="waiting"),
                name="waitlist_one_waiting_per_patient_type_location",
            ),
            models.CheckConstraint(
                condition=Q(status="waiting", closed_at__isnull=True)
                | (~Q(status="waiting") & Q(closed_at__isnull=False)),
                name="waitlist_closed_when_not_waiting",
            ),
            models.CheckConstraint(
                condition=~Q(status="booked") | Q(appointment__isnull=False), name="waitlist_booked_has_appointment"
            ),
        ]
        triggers = [places_patient("waitlistentry_places_patient")]

    def __str__(self) -> str:
        return f"Waitlist entry #{self.pk}"


class WaitlistSlot(models.Model):
    """A slot a cancellation freed, offered to the first waitlisted patients. Claims lock this row."""

    source = models.OneToOneField(Appointment, on_delete=models.PROTECT, related_name="freed_slot")
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(end__gt=F("start")), name="waitlistslot_end_after_start")]

    def __str__(self) -> str:
        return f"Freed slot #{self.pk}"


class OfferOutcome(models.TextChoices):
    OPEN = "open", "Sent"
    CLAIMED = "claimed", "Claimed"
    TAKEN = "taken", "Taken by someone else"


class WaitlistOffer(models.Model):
    """One waitlisted patient told of one freed slot. At most one offer of a slot is claimed
    (a partial unique constraint), whatever the race."""

    Outcome = OfferOutcome

    slot = models.ForeignKey(WaitlistSlot, on_delete=models.CASCADE, related_name="offers")
    entry = models.ForeignKey(WaitlistEntry, on_delete=models.PROTECT, related_name="offers")
    created_at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=OfferOutcome.choices, default=OfferOutcome.OPEN)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["slot", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["slot", "entry"], name="waitlistoffer_once_per_entry"),
            models.UniqueConstraint(
                fields=["slot"], condition=Q(outcome="claimed"), name="waitlistoffer_one_claim_per_slot"
            ),
        ]

    def __str__(self) -> str:
        return f"Waitlist offer #{self.pk}"


class SelfBookingLinkKind(models.TextChoices):
    BOOK = "book", "Booking link"
    OFFER = "offer", "Waitlist offer"


class SelfBookingLink(models.Model):
    """A patient's link to book a visit, or to claim a freed slot (security-reference A9 shape).

    Only a SHA-256 of the 256-bit token is stored. Opening it asks for the date of birth (wrong
    answers lock it); it expires; the booking (or the claim) spends it. Opening it without booking
    does not: the patient may come back until it expires.
    """

    Kind = SelfBookingLinkKind

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="self_booking_links")
    kind = models.CharField(max_length=10, choices=SelfBookingLinkKind.choices, default=SelfBookingLinkKind.BOOK)
    offer = models.OneToOneField(WaitlistOffer, null=True, blank=True, on_delete=models.CASCADE, related_name="link")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    sent_channels = models.CharField(max_length=20, blank=True)
    dob_failures = models.PositiveSmallIntegerField(default=0)
    verified_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["patient", "-created_at"], name="selfbookinglink_patient")]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")), name="selfbookinglink_expiry_after_creation"
            ),
            models.CheckConstraint(
                condition=(Q(kind="offer") & Q(offer__isnull=False)) | (Q(kind="book") & Q(offer__isnull=True)),
                name="selfbookinglink_offer_iff_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class SelfBookingStatus(models.TextChoices):
    PENDING = "pending", "Waiting for the front desk"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"
    BOOKED = "booked", "Booked (no approval needed)"


class SelfBooking(models.Model):
    """A booking the patient made from a link. The appointment holds the slot under the same
    constraints as every booking; while ``pending`` the front desk still has to approve it."""

    Status = SelfBookingStatus

    appointment = models.OneToOneField(Appointment, on_delete=models.PROTECT, related_name="self_booking")
    link = models.ForeignKey(SelfBookingLink, on_delete=models.PROTECT, related_name="bookings")
    status = models.CharField(max_length=10, choices=SelfBookingStatus.choices)
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decline_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        permissions = [("decide_selfbooking", "Can approve or decline a patient's online booking")]
        indexes = [models.Index(fields=["status", "created_at"], name="selfbooking_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "booked"], decided_at__isnull=True)
                | (Q(status__in=["approved", "declined"]) & Q(decided_at__isnull=False, decided_by__isnull=False)),
                name="selfbooking_decision_complete",
            ),
            models.CheckConstraint(
                condition=~Q(status="declined") | ~Q(decline_reason=""), name="selfbooking_decline_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"Online booking #{self.pk}"


class DailyJobRun(models.Model):
    """One daily job's run for one site's local day (``scheduling.daily``): the row is the claim, so
    a job runs once per site and day however many beats or workers tick."""

    job = models.CharField(max_length=80)
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    local_day = models.DateField(help_text="The site's local day the run closed.")
    ran_at = models.DateTimeField()

    class Meta:
        ordering = ["-local_day", "job"]
        constraints = [
            models.UniqueConstraint(fields=["job", "location", "local_day"], name="dailyjobrun_once_per_site_day")
        ]

    def __str__(self) -> str:
        return f"{self.job} for {self.location_id} on {self.local_day:%Y-%m-%d}"
