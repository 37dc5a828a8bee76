"""What the FHIR API reads: one entry per resource type, each owning its access scope and query shape.

A resource type is *clinical* when it carries the clinical record; those need the
``patients.view_clinical_record`` permission on top of the role's own view permission, so a front
desk token reads what the front desk's pages show and nothing more. Searches answer one page of
rows in a bounded number of queries whatever the page size (pinned in the tests).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q, QuerySet, TextField, Value, Window
from django.db.models.functions import Cast, RowNumber
from django.db.models.lookups import StartsWith
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from accounts.roles import CLINICAL_ROLES, GROUP_NAMES
from assessments.instruments import INSTRUMENTS
from assessments.models import InstrumentResponse
from consultations.models import Amendment, Consultation, Medication
from core.site import site_url
from documents import access as document_access
from documents.models import Document, DocumentKind, RenderStatus
from followups.models import FollowUpAmendment, FollowUpVisit
from infusions.models import AdverseEvent, FlowsheetReading, InfusionSession, SessionAmendment
from interop import resources
from patients.expressions import name_key
from patients.models import Patient
from scheduling.models import Appointment, Location

CLINICAL = "patients.view_clinical_record"
SEARCH_OFFSET_LIMIT = 10_000  # deeper pages are for $export, not for paging a search


class SearchError(ValueError):
    """A search parameter with a value the server cannot use (answered 400 with an OperationOutcome)."""


@dataclass(frozen=True)
class Row:
    """One stored record and the FHIR resources it becomes (a flowsheet row becomes several)."""

    obj: Any
    patient_id: int | None
    resources: list[dict[str, Any]]


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    total: int | None  # None where counting would mean expanding every row (vital signs)
    has_next: bool


# Search parameter values -------------------------------------------------------------------------

_PREFIX = re.compile(r"^(eq|ne|gt|lt|ge|le|sa|eb)?(.+)$")


def _date_bounds(value: str) -> tuple[str, datetime, datetime]:
    """FHIR date search: a prefix and the instant range the value covers (a day, or an instant)."""
    match = _PREFIX.match(value.strip())
    if match is None:
        raise SearchError(f"date: {value!r} is not a date")
    prefix, text = match.group(1) or "eq", match.group(2)
    moment, day = None, None
    try:
        # A value with a time is an instant; without, a whole day (fromisoformat would read a bare
        # date as its midnight).
        if "T" in text:
            moment = parse_datetime(text)
        else:
            day = parse_date(text)
    except ValueError:
        pass
    if moment is not None:
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return prefix, moment, moment
    if day is None:
        raise SearchError(f"date: {value!r} is not a date (YYYY-MM-DD or an instant)")
    try:
        start = timezone.make_aware(datetime.combine(day, time.min))
        return prefix, start, start + timedelta(days=1)
    except OverflowError:  # the first or last day there is: no instant range to compare with
        raise SearchError(f"date: {value!r} is out of range") from None


def date_filter(field: str, values: Iterable[str]) -> Q:
    """FHIR date search on ``field``: a day covers [start, end); an instant is a point."""
    q = Q()
    for value in values:
        prefix, start, end = _date_bounds(value)
        point = start == end
        after, before = (f"{field}__gt", f"{field}__lt") if point else (f"{field}__gte", f"{field}__lt")
        if prefix in ("gt", "sa"):
            q &= Q(**{after: end})
        elif prefix in ("lt", "eb"):
            q &= Q(**{before: start})
        elif prefix == "ge":
            q &= Q(**{f"{field}__gte": start})
        elif prefix == "le":
            q &= Q(**{f"{field}__lte": end}) if point else Q(**{f"{field}__lt": end})
        else:
            within = Q(**{field: start}) if point else Q(**{f"{field}__gte": start, f"{field}__lt": end})
            q &= ~within if prefix == "ne" else within
    return q


def _ids(values: Iterable[str], what: str) -> list[int]:
    """Reference or id parameters: ``123`` or ``Patient/123``, comma-separated alternatives."""
    out = []
    for value in values:
        for part in value.split(","):
            text = part.strip().rsplit("/", 1)[-1]
            if not (text.isascii() and text.isdigit()) or len(text) > 12:
                raise SearchError(f"{what}: {part!r} is not a reference to a {what}")
            out.append(int(text))
    return out


def ids_of(values: Iterable[str], what: str) -> list[int]:
    return _ids(values, what)


def _token_codes(values: Iterable[str]) -> list[str]:
    """Token parameters: ``code`` or ``system|code``; the system is not needed to tell our codes apart."""
    return [part.strip().rsplit("|", 1)[-1] for value in values for part in value.split(",") if part.strip()]


# Resource types -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceType:
    name: str
    clinical: bool
    view_permission: str
    search_params: tuple[str, ...]
    read: Callable[[str], Row | None]
    # (params, offset, count, within): ``within`` is a query of the patient ids the token's user may
    # read (their locations' patients), or None for every patient.
    search: Callable[[dict[str, list[str]], int, int, QuerySet | None], Page]
    # Whether a search must name its patient (the record of many patients comes through $export).
    needs_patient: bool = False
    searchable: bool = True  # Binary is read only, through a DocumentReference's attachment

    @property
    def compartment(self) -> bool:
        """Whether every row belongs to one patient (SMART's patient compartment)."""
        return self.name in ("Patient", "Binary") or "patient" in self.search_params

    def visible_to(self, user: Any) -> bool:
        return bool(user.has_perm(self.view_permission) and (not self.clinical or user.has_perm(CLINICAL)))


def _page(queryset: QuerySet, offset: int, count: int, to_row: Callable[[Any], Row]) -> Page:
    total = queryset.count()
    objs = list(queryset[offset : offset + count])
    return Page(rows=[to_row(o) for o in objs], total=total, has_next=offset + count < total)


def _of_patients(queryset: QuerySet, field: str, params: dict[str, list[str]], within: QuerySet | None) -> QuerySet:
    """``queryset`` narrowed to the patients a search names (``patient``/``subject``), and to those
    the token's user may read (``within``: their locations' patients; None for chain-wide staff)."""
    named = _patient_ids(params)
    if named is not None:
        queryset = queryset.filter(**{f"{field}__in": named})
    if within is not None:
        queryset = queryset.filter(**{f"{field}__in": within})
    return queryset


def _by_pk(queryset: QuerySet, resource_id: str, to_row: Callable[[Any], Row]) -> Row | None:
    if not (resource_id.isascii() and resource_id.isdigit()) or len(resource_id) > 12:
        return None
    obj = queryset.filter(pk=int(resource_id)).first()
    return to_row(obj) if obj is not None else None


# Patient


# What ``resources.patient`` sends (and the audit names: the MRN), and nothing else: the registry's
# other columns (the escort's phone among them, parsed into a PhoneNumber on loading, the consents,
# the folded name keys) are neither sent nor needed.
PATIENT_RESOURCE_FIELDS = (
    "id",
    "mrn",
    "legal_first_name",
    "legal_last_name",
    "preferred_name",
    "date_of_birth",
    "sex_at_birth",
    "email",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "preferred_language",
    "emergency_contact_name",
    "emergency_contact_relationship",
    "status",
    "updated_at",
)


def api_patients() -> QuerySet:
    """Patients as the API reads them: only the columns the resource sends, and the two phone
    numbers as the text stored rather than parsed into PhoneNumber objects on loading
    (phonenumbers.parse, about 50 µs each, then a validation to print them: some 3 ms of a page of
    twenty patients); the resource sends that text (``resources.patient``)."""
    return Patient.objects.only(*PATIENT_RESOURCE_FIELDS).annotate(
        phone_stored=Cast("phone", TextField()),
        emergency_contact_phone_stored=Cast("emergency_contact_phone", TextField()),
    )


def _patient_row(p: Patient) -> Row:
    return Row(p, p.pk, [resources.patient(p)])


def _name_prefix(value: str, *keys: str) -> Q:
    folded = name_key(Value(value.strip()))  # folded by PostgreSQL, as the stored keys are; a constant
    q = Q(StartsWith(F(keys[0]), folded))
    for key in keys[1:]:
        q |= Q(StartsWith(F(key), folded))
    return q


def _patient_search(params: dict[str, list[str]], offset: int, count: int, within: QuerySet | None = None) -> Page:
    qs = api_patients().order_by("legal_last_name", "legal_first_name", "id")
    if within is not None:
        qs = qs.filter(pk__in=within)
    if "_id" in params:
        qs = qs.filter(pk__in=_ids(params["_id"], "Patient"))
    for value in params.get("identifier", []):
        # MRNs are stored upper-case, so an exact match on the upper-cased code uses the unique index
        # (iexact compiled to UPPER(mrn) = …, a read of the whole registry).
        qs = qs.filter(mrn=(_token_codes([value])[-1] if value else "").strip().upper())
    # FHIR string search: a prefix, case- and accent-insensitive; on the registry's folded name keys,
    # whose trigram indexes serve the prefix (a plain UPPER(name) LIKE reads the whole registry).
    for value in params.get("family", []):
        qs = qs.filter(_name_prefix(value, "last_name_key"))
    for value in params.get("given", []):
        qs = qs.filter(_name_prefix(value, "first_name_key", "preferred_name_key"))
    for value in params.get("name", []):
        qs = qs.filter(_name_prefix(value, "last_name_key", "first_name_key", "preferred_name_key"))
    for value in params.get("birthdate", []):
        prefix, start, end = _date_bounds(value)
        if start != end:
            day = start.date()
            ops = {"eq": "", "ge": "__gte", "le": "__lte", "gt": "__gt", "lt": "__lt"}
            if prefix not in ops:
                raise SearchError(f"birthdate: the prefix {prefix!r} is not supported")
            qs = qs.filter(**{f"date_of_birth{ops[prefix]}": day})
        else:
            raise SearchError("birthdate: give a date (YYYY-MM-DD)")
    gender_codes = _token_codes(params.get("gender", []))
    if gender_codes:
        sexes = [sex for sex, code in resources._GENDER.items() if code in gender_codes]
        qs = qs.filter(sex_at_birth__in=sexes)
    if any(key in params for key in ("family", "given", "name")):
        # Every match is numbered in the list's order and counted, and the page is the numbers
        # asked for: the trigram indexes find the matches and PostgreSQL sorts them, in one
        # statement. With a LIMIT instead the planner walked the list order expecting the matches
        # spread evenly, and read 16,000 patients before the twentieth Smith.
        ranked = qs.annotate(
            place=Window(RowNumber(), order_by=[F("legal_last_name"), F("legal_first_name"), F("id")]),
            matches=Window(Count("id")),
        )
        found = list(ranked.filter(place__gt=offset, place__lte=offset + count).order_by("place"))
        total = found[0].matches if found else (qs.count() if offset else 0)
        return Page(rows=[_patient_row(p) for p in found], total=total, has_next=offset + count < total)
    return _page(qs, offset, count, _patient_row)


# Practitioner (the clinic's clinicians: prescribers, nurses, and staff who are an appointment's clinician)


def _practitioners() -> QuerySet:
    return (
        get_user_model()
        .objects.filter(
            Q(prescriber_profile__isnull=False)
            | Q(scheduled_appointments__isnull=False)
            # Nurses record adverse events and sign sessions: the resources name them, so they resolve.
            | Q(groups__name__in=[GROUP_NAMES[role] for role in CLINICAL_ROLES])
        )
        .distinct()
        .select_related("prescriber_profile")
        .order_by("id")
    )


def _practitioner_row(user: Any) -> Row:
    return Row(user, None, [resources.practitioner(user)])


def _practitioner_search(params: dict[str, list[str]], offset: int, count: int, within: QuerySet | None = None) -> Page:
    qs = _practitioners()
    if "_id" in params:
        qs = qs.filter(pk__in=_ids(params["_id"], "Practitioner"))
    for value in params.get("identifier", []):
        qs = qs.filter(prescriber_profile__npi=_token_codes([value])[-1] if value else "")
    for value in params.get("name", []):
        qs = qs.filter(Q(last_name__istartswith=value.strip()) | Q(first_name__istartswith=value.strip()))
    return _page(qs, offset, count, _practitioner_row)


# Location


def _location_row(loc: Location) -> Row:
    return Row(loc, None, [resources.location(loc)])


def _location_search(params: dict[str, list[str]], offset: int, count: int, within: QuerySet | None = None) -> Page:
    qs = Location.objects.order_by("name", "id")
    if "_id" in params:
        qs = qs.filter(pk__in=_ids(params["_id"], "Location"))
    for value in params.get("name", []):
        qs = qs.filter(name__icontains=value.strip())
    return _page(qs, offset, count, _location_row)


# Appointment


def _appointments() -> QuerySet:
    return Appointment.objects.select_related("location", "appointment_type").order_by("-start", "-id")


def _appointment_row(a: Appointment) -> Row:
    return Row(a, a.patient_id, [resources.appointment(a)])


_APPOINTMENT_STATUS_BY_CODE: dict[str, list[str]] = {}
for _ours, _theirs in resources.APPOINTMENT_STATUS.items():
    _APPOINTMENT_STATUS_BY_CODE.setdefault(_theirs, []).append(str(_ours))


def _appointment_search(params: dict[str, list[str]], offset: int, count: int, within: QuerySet | None = None) -> Page:
    qs = _of_patients(_appointments(), "patient_id", params, within)
    if "_id" in params:
        qs = qs.filter(pk__in=_ids(params["_id"], "Appointment"))
    if "location" in params:
        qs = qs.filter(location_id__in=_ids(params["location"], "Location"))
    if "practitioner" in params:
        qs = qs.filter(clinician_id__in=_ids(params["practitioner"], "Practitioner"))
    if "date" in params:
        qs = qs.filter(date_filter("start", params["date"]))
    statuses = _token_codes(params.get("status", []))
    if statuses:
        qs = qs.filter(status__in=[ours for code in statuses for ours in _APPOINTMENT_STATUS_BY_CODE.get(code, [])])
    return _page(qs, offset, count, _appointment_row)


def _patient_ids(params: dict[str, list[str]]) -> list[int] | None:
    values = params.get("patient", []) + params.get("subject", [])
    return _ids(values, "Patient") if values else None


# Observation: instrument scores and vital signs

_VITAL_FIELDS = {code: field for field, (_, code, *_rest) in resources.VITALS.items()}
_VITAL_FIELDS.update(
    {resources.BP[1]: "sbp_mmhg", resources.SYSTOLIC[0]: "sbp_mmhg", resources.DIASTOLIC[0]: "dbp_mmhg"}
)
_INSTRUMENTS_BY_LOINC = {inst.loinc_total: code for code, inst in INSTRUMENTS.items() if inst.loinc_total}


def _score_row(r: InstrumentResponse) -> Row:
    return Row(r, r.patient_id, [resources.score_observation(r)])


def _reading_row(reading: FlowsheetReading, codes: list[str] | None = None) -> Row:
    patient_id = reading.session.patient_id
    observations = resources.vital_observations(reading, patient_id)
    if codes:
        observations = [o for o in observations if o["code"]["coding"][0]["code"] in codes]
    return Row(reading, patient_id, observations)


def _scores() -> QuerySet:
    # The correction pointing at a score is a reverse one-to-one: annotated, it costs no join per row
    # and says whether the score was replaced.
    return InstrumentResponse.objects.annotate(superseded_by_pk=F("superseded_by__id")).order_by(
        "-administered_at", "-id"
    )


def _readings() -> QuerySet:
    return FlowsheetReading.objects.select_related("session").order_by("-taken_at", "-id")


def _observation_read(resource_id: str) -> Row | None:
    if resource_id.startswith("score-"):
        return _by_pk(_scores(), resource_id.removeprefix("score-"), _score_row)
    match = re.fullmatch(r"vs-(\d{1,12})-([a-z0-9]+)", resource_id)
    if match is None or match.group(2) not in resources.VITAL_SUFFIXES:
        return None
    row = _by_pk(_readings(), match.group(1), _reading_row)
    if row is None:
        return None
    wanted = [o for o in row.resources if o["id"] == resource_id]
    return Row(row.obj, row.patient_id, wanted) if wanted else None


def _observation_search(params: dict[str, list[str]], offset: int, count: int, within: QuerySet | None = None) -> Page:
    categories = set(_token_codes(params.get("category", []))) or {"survey", "vital-signs"}
    codes = _token_codes(params.get("code", []))
    scores = _of_patients(_scores().filter(superseded_by__isnull=True), "patient_id", params, within)
    readings = _of_patients(_readings(), "session__patient_id", params, within)
    if "date" in params:
        scores = scores.filter(date_filter("administered_at", params["date"]))
        readings = readings.filter(date_filter("taken_at", params["date"]))
    if codes:
        scores = scores.filter(instrument__in=[_INSTRUMENTS_BY_LOINC[c] for c in codes if c in _INSTRUMENTS_BY_LOINC])
        fields = {_VITAL_FIELDS[c] for c in codes if c in _VITAL_FIELDS}
        vital_q = Q()
        for field in fields:
            vital_q |= Q(**{f"{field}__isnull": False})
        readings = readings.filter(vital_q) if fields else readings.none()
    want_scores, want_vitals = "survey" in categories, "vital-signs" in categories
    if want_scores and not want_vitals:
        return _page(scores, offset, count, _score_row)
    if want_vitals and not want_scores:
        page = _page(readings, offset, count, lambda r: _reading_row(r, codes))
        return Page(page.rows, None, page.has_next)
    # Both kinds, newest first: the first offset + count of each, merged (offsets are bounded).
    window = offset + count + 1
    merged = [(s.administered_at, "s", s) for s in scores[:window]] + [(r.taken_at, "v", r) for r in readings[:window]]
    merged.sort(key=lambda item: (item[0], item[2].pk), reverse=True)
    chosen = merged[offset : offset + count]
    rows = [_score_row(obj) if kind == "s" else _reading_row(obj, codes) for _, kind, obj in chosen]
    return Page(rows, None, len(merged) > offset + count)


# MedicationAdministration: the ketamine infusion


def _administrations() -> QuerySet:
    return InfusionSession.objects.filter(started_at__isnull=False).order_by("-started_at", "-id")


def _administration_row(s: InfusionSession) -> Row:
    return Row(s, s.patient_id, [resources.medication_administration(s)])


def _administration_search(
    params: dict[str, list[str]], offset: int, count: int, within: QuerySet | None = None
) -> Page:
    qs = _of_patients(_administrations(), "patient_id", params, within)
    if "effective-time" in params:
        qs = qs.filter(date_filter("started_at", params["effective-time"]))
    statuses = set(_token_codes(params.get("status", [])))
    if statuses:
        q = Q(pk__in=[])
        if "in-progress" in statuses:
            q |= Q(ended_at__isnull=True)
        if "stopped" in statuses:
            q |= Q(ended_at__isnull=False) & ~Q(stop_reason_code="")
        if "completed" in statuses:
            q |= Q(ended_at__isnull=False, stop_reason_code="")
        qs = qs.filter(q)
    return _page(qs, offset, count, _administration_row)


# Resources built from several kinds of record (Encounter, Provenance) --------------------------


@dataclass(frozen=True)
class Source:
    """One kind of record behind a resource type: its id prefix, rows, date and patient fields."""

    prefix: str
    queryset: Callable[[], QuerySet]
    date_field: str
    patient_field: str
    to_row: Callable[[Any], Row]
    status_q: Callable[[set[str]], Q] = lambda statuses: Q()


def _source_read(sources: tuple[Source, ...]) -> Callable[[str], Row | None]:
    by_prefix = {source.prefix: source for source in sources}

    def read(resource_id: str) -> Row | None:
        match = re.fullmatch(r"([a-z-]+)-(\d{1,12})", resource_id)
        source = by_prefix.get(match.group(1)) if match else None
        if match is None or source is None:
            return None
        return _by_pk(source.queryset(), match.group(2), source.to_row)

    return read


def _source_search(
    sources: tuple[Source, ...], date_param: str
) -> Callable[[dict[str, list[str]], int, int, QuerySet | None], Page]:
    """Newest first across every source: the first offset + count of each, merged (offsets are bounded)."""

    def search(params: dict[str, list[str]], offset: int, count: int, within: QuerySet | None = None) -> Page:
        statuses = set(_token_codes(params.get("status", [])))
        window = offset + count + 1
        merged: list[tuple[Any, str, int, Source, Any]] = []
        total = 0
        for source in sources:
            qs = source.queryset().filter(**{f"{source.date_field}__isnull": False})
            qs = _of_patients(qs, source.patient_field, params, within)
            if date_param in params:
                qs = qs.filter(date_filter(source.date_field, params[date_param]))
            if statuses:
                qs = qs.filter(source.status_q(statuses))
            qs = qs.order_by(f"-{source.date_field}", "-id")
            total += qs.count()
            merged += [(getattr(o, source.date_field), source.prefix, o.pk, source, o) for o in qs[:window]]
        merged.sort(key=lambda item: (item[0], item[1], item[2]), reverse=True)
        rows = [source.to_row(obj) for *_, source, obj in merged[offset : offset + count]]
        return Page(rows, total, offset + count < total)

    return search


def _when(statuses: set[str], **mapping: Q) -> Q:
    """The rows whose FHIR status is among ``statuses`` (``mapping``: FHIR status → the rows having it)."""
    q = Q(pk__in=[])
    for code, rows in mapping.items():
        if code.replace("_", "-") in statuses:
            q |= rows
    return q


# Encounter: the intake consultation, each infusion session that reached the chair, follow-up visits

_FINISHED_SESSIONS = ("discharged", "signed")


def _consultation_encounter(c: Any) -> Row:
    return Row(
        c,
        c.patient_id,
        [
            resources.encounter(
                kind="consultation",
                pk=c.pk,
                label="Intake consultation",
                status="finished" if c.signed_at else "in-progress",
                patient_id=c.patient_id,
                start=c.created_at,
                end=c.signed_at,
                participant_id=c.clinician_id,
                appointment_id=c.appointment_id,
            )
        ],
    )


def _session_encounter(s: InfusionSession) -> Row:
    if s.status == "deferred":
        status = "cancelled"
    elif s.status in _FINISHED_SESSIONS:
        status = "finished"
    else:
        status = "in-progress"
    return Row(
        s,
        s.patient_id,
        [
            resources.encounter(
                kind="infusion",
                pk=s.pk,
                label="Ketamine infusion session",
                status=status,
                patient_id=s.patient_id,
                start=s.checked_in_at,
                end=s.discharged_at,
                participant_id=s.signed_by_id,
                appointment_id=s.appointment_id,
            )
        ],
    )


def _visit_encounter(v: FollowUpVisit) -> Row:
    return Row(
        v,
        v.patient_id,
        [
            resources.encounter(
                kind="followup",
                pk=v.pk,
                label="Follow-up visit",
                status="finished" if v.signed_at else "in-progress",
                patient_id=v.patient_id,
                start=v.created_at,
                end=v.signed_at,
                participant_id=v.clinician_id,
                appointment_id=v.appointment_id,
            )
        ],
    )


ENCOUNTER_SOURCES = (
    Source(
        "consultation",
        lambda: Consultation.objects.all(),
        "created_at",
        "patient_id",
        _consultation_encounter,
        lambda st: _when(st, finished=Q(signed_at__isnull=False), in_progress=Q(signed_at__isnull=True)),
    ),
    Source(
        "infusion",
        lambda: InfusionSession.objects.all(),
        "checked_in_at",
        "patient_id",
        _session_encounter,
        lambda st: _when(
            st,
            cancelled=Q(status="deferred"),
            finished=Q(status__in=_FINISHED_SESSIONS),
            in_progress=~Q(status__in=(*_FINISHED_SESSIONS, "deferred")),
        ),
    ),
    Source(
        "followup",
        lambda: FollowUpVisit.objects.all(),
        "created_at",
        "patient_id",
        _visit_encounter,
        lambda st: _when(st, finished=Q(signed_at__isnull=False), in_progress=Q(signed_at__isnull=True)),
    ),
)


# Provenance: who signed each signed record, and who amended it


def _signed(prefix: str, target: str) -> Callable[[Any], Row]:
    def to_row(obj: Any) -> Row:
        resource = resources.provenance(
            pid=f"{prefix}-{obj.pk}",
            target=resources.reference("Encounter", f"{target}-{obj.pk}"),
            at=obj.signed_at,
            who=obj.signed_by_id,
            activity="Signed",
        )
        return Row(obj, obj.patient_id, [resource])

    return to_row


def _amended(prefix: str, target: str, parent: str) -> Callable[[Any], Row]:
    def to_row(amendment: Any) -> Row:
        record = getattr(amendment, parent)
        resource = resources.provenance(
            pid=f"{prefix}-{amendment.pk}",
            target=resources.reference("Encounter", f"{target}-{record.pk}"),
            at=amendment.at,
            who=amendment.author_id,
            activity=amendment.get_kind_display(),
            reason=amendment.reason,
        )
        return Row(amendment, record.patient_id, [resource])

    return to_row


PROVENANCE_SOURCES = (
    Source(
        "consultation",
        lambda: Consultation.objects.filter(signed_at__isnull=False),
        "signed_at",
        "patient_id",
        _signed("consultation", "consultation"),
    ),
    Source(
        "consultation-amendment",
        lambda: Amendment.objects.select_related("consultation"),
        "at",
        "consultation__patient_id",
        _amended("consultation-amendment", "consultation", "consultation"),
    ),
    Source(
        "infusion",
        lambda: InfusionSession.objects.filter(signed_at__isnull=False),
        "signed_at",
        "patient_id",
        _signed("infusion", "infusion"),
    ),
    Source(
        "infusion-amendment",
        lambda: SessionAmendment.objects.select_related("session"),
        "at",
        "session__patient_id",
        _amended("infusion-amendment", "infusion", "session"),
    ),
    Source(
        "followup",
        lambda: FollowUpVisit.objects.filter(signed_at__isnull=False),
        "signed_at",
        "patient_id",
        _signed("followup", "followup"),
    ),
    Source(
        "followup-amendment",
        lambda: FollowUpAmendment.objects.select_related("visit"),
        "at",
        "visit__patient_id",
        _amended("followup-amendment", "followup", "visit"),
    ),
)


# Condition, AllergyIntolerance, MedicationStatement: what a signed consultation records


def _signed_consultations() -> QuerySet:
    return Consultation.objects.filter(signed_at__isnull=False).order_by("-signed_at", "-id")


def _condition_row(c: Any, codes: list[str] | None = None) -> Row:
    found = resources.conditions(c)
    if codes:
        found = [r for r in found if r["code"]["coding"][0]["code"] in codes]
    return Row(c, c.patient_id, found)


def _condition_read(resource_id: str) -> Row | None:
    match = re.fullmatch(r"(\d{1,12})-(\d{1,3})", resource_id)
    if match is None:
        return None
    row = _by_pk(_signed_consultations().exclude(icd10_codes=""), match.group(1), _condition_row)
    wanted = [r for r in row.resources if r["id"] == resource_id] if row else []
    return Row(row.obj, row.patient_id, wanted) if row and wanted else None


def _condition_search(params: dict[str, list[str]], offset: int, count: int, within: QuerySet | None = None) -> Page:
    qs = _of_patients(_signed_consultations().exclude(icd10_codes=""), "patient_id", params, within)
    if "recorded-date" in params:
        qs = qs.filter(date_filter("signed_at", params["recorded-date"]))
    categories = set(_token_codes(params.get("category", [])))
    if categories and "encounter-diagnosis" not in categories:
        qs = qs.none()
    codes = [code.upper() for code in _token_codes(params.get("code", []))]
    if codes:
        q = Q(pk__in=[])
        for code in codes:
            q |= Q(icd10_codes__icontains=code)
        qs = qs.filter(q)
    page = _page(qs, offset, count, lambda c: _condition_row(c, codes))
    return Page(page.rows, None, page.has_next)  # a consultation holds several conditions


def _allergy_row(c: Any) -> Row:
    return Row(c, c.patient_id, [resources.allergy_intolerance(c)])


def _allergies() -> QuerySet:
    return _signed_consultations().exclude(allergies="")


def _allergy_search(params: dict[str, list[str]], offset: int, count: int, within: QuerySet | None = None) -> Page:
    qs = _of_patients(_allergies(), "patient_id", params, within)
    statuses = set(_token_codes(params.get("clinical-status", [])))
    if statuses and "active" not in statuses:
        qs = qs.none()
    return _page(qs, offset, count, _allergy_row)


def _medications() -> QuerySet:
    return (
        Medication.objects.filter(consultation__signed_at__isnull=False)
        .select_related("consultation")
        .order_by("-consultation__signed_at", "id")
    )


def _medication_row(m: Any) -> Row:
    return Row(m, m.consultation.patient_id, [resources.medication_statement(m)])


def _medication_search(params: dict[str, list[str]], offset: int, count: int, within: QuerySet | None = None) -> Page:
    qs = _of_patients(_medications(), "consultation__patient_id", params, within)
    statuses = set(_token_codes(params.get("status", [])))
    if statuses and "active" not in statuses:
        qs = qs.none()
    return _page(qs, offset, count, _medication_row)


# QuestionnaireResponse: the instruments' item answers


def _questionnaire_responses() -> QuerySet:
    return InstrumentResponse.objects.annotate(superseded_by_pk=F("superseded_by__id")).order_by(
        "-administered_at", "-id"
    )


def _questionnaire_row(r: InstrumentResponse) -> Row:
    return Row(r, r.patient_id, [resources.questionnaire_response(r)])


def _questionnaire_search(
    params: dict[str, list[str]], offset: int, count: int, within: QuerySet | None = None
) -> Page:
    qs = _of_patients(_questionnaire_responses().filter(superseded_by__isnull=True), "patient_id", params, within)
    if "authored" in params:
        qs = qs.filter(date_filter("administered_at", params["authored"]))
    statuses = set(_token_codes(params.get("status", [])))
    if statuses:
        qs = qs.filter(_when(statuses, completed=Q(supersedes__isnull=True), amended=Q(supersedes__isnull=False)))
    return _page(qs, offset, count, _questionnaire_row)


# AdverseEvent: an infusion's adverse events


def _adverse_events() -> QuerySet:
    return AdverseEvent.objects.select_related("session").order_by("-onset_at", "-id")


def _adverse_event_row(e: AdverseEvent) -> Row:
    return Row(e, e.session.patient_id, [resources.adverse_event(e)])


def _adverse_event_search(
    params: dict[str, list[str]], offset: int, count: int, within: QuerySet | None = None
) -> Page:
    qs = _of_patients(_adverse_events(), "session__patient_id", params, within)
    if "date" in params:
        qs = qs.filter(date_filter("onset_at", params["date"]))
    return _page(qs, offset, count, _adverse_event_row)


# DocumentReference and Binary: the issued PDFs about a patient (not the reports and exports, which
# have their own download permissions and no patient)


def documents_of_patients() -> QuerySet:
    report_kinds = [kind for kind in DocumentKind.values if document_access.is_export(kind)]
    return (
        Document.objects.filter(patient__isnull=False, status=RenderStatus.RENDERED)
        .exclude(kind__in=report_kinds)
        .annotate(superseded_by_pk=F("superseded_by__id"))
        .defer("pdf", "snapshot")
        .order_by("-issued_at", "-id")
    )


def _document_row(d: Document) -> Row:
    return Row(d, d.patient_id, [resources.document_reference(d, base=f"{site_url()}/fhir/r4")])


def _document_search(params: dict[str, list[str]], offset: int, count: int, within: QuerySet | None = None) -> Page:
    qs = _of_patients(documents_of_patients(), "patient_id", params, within)
    if "date" in params:
        qs = qs.filter(date_filter("issued_at", params["date"]))
    statuses = set(_token_codes(params.get("status", [])))
    if statuses:
        current, superseded = Q(superseded_by__isnull=True), Q(superseded_by__isnull=False)
        qs = qs.filter(_when(statuses, current=current, superseded=superseded))
    return _page(qs, offset, count, _document_row)


def _binary_row(d: Document) -> Row:
    return Row(d, d.patient_id, [{"resourceType": "Binary", "id": str(d.pk), "contentType": "application/pdf"}])


def _no_search(params: dict[str, list[str]], offset: int, count: int, within: QuerySet | None = None) -> Page:
    return Page([], 0, False)


# Organization (the clinic) and PractitionerRole (each clinician's role there)


def _organization_read(resource_id: str) -> Row | None:
    return Row(None, None, [resources.organization()]) if resource_id == resources.CLINIC else None


def _organization_search(params: dict[str, list[str]], offset: int, count: int, within: QuerySet | None = None) -> Page:
    row = Row(None, None, [resources.organization()])
    ids = [part.strip() for value in params.get("_id", []) for part in value.split(",")]
    names = [value.strip().lower() for value in params.get("name", [])]
    matches = (not ids or resources.CLINIC in ids) and all(n in settings.CLINIC_NAME.lower() for n in names)
    rows = [row] if matches and offset == 0 else []
    return Page(rows, 1 if matches else 0, False)


def _practitioner_roles() -> QuerySet:
    return _practitioners().prefetch_related("groups")


def _practitioner_role_row(user: Any) -> Row:
    return Row(user, None, [resources.practitioner_role(user)])


def _practitioner_role_search(
    params: dict[str, list[str]], offset: int, count: int, within: QuerySet | None = None
) -> Page:
    qs = _practitioner_roles()
    if "_id" in params:
        qs = qs.filter(pk__in=_ids(params["_id"], "PractitionerRole"))
    if "practitioner" in params:
        qs = qs.filter(pk__in=_ids(params["practitioner"], "Practitioner"))
    return _page(qs, offset, count, _practitioner_role_row)


def _read(queryset_factory: Callable[[], QuerySet], to_row: Callable[[Any], Row]) -> Callable[[str], Row | None]:
    return lambda resource_id: _by_pk(queryset_factory(), resource_id, to_row)


RESOURCE_TYPES: dict[str, ResourceType] = {
    rt.name: rt
    for rt in (
        ResourceType(
            "Patient",
            clinical=False,
            view_permission="patients.view_patient",
            search_params=("_id", "identifier", "family", "given", "name", "birthdate", "gender"),
            read=_read(api_patients, _patient_row),
            search=_patient_search,
        ),
        ResourceType(
            "Practitioner",
            clinical=False,
            view_permission="scheduling.view_appointment",
            search_params=("_id", "identifier", "name"),
            read=_read(_practitioners, _practitioner_row),
            search=_practitioner_search,
        ),
        ResourceType(
            "Location",
            clinical=False,
            view_permission="scheduling.view_appointment",
            search_params=("_id", "name"),
            read=_read(lambda: Location.objects.all(), _location_row),
            search=_location_search,
        ),
        ResourceType(
            "Appointment",
            clinical=False,
            view_permission="scheduling.view_appointment",
            search_params=("_id", "patient", "subject", "date", "status", "location", "practitioner"),
            read=_read(_appointments, _appointment_row),
            search=_appointment_search,
        ),
        ResourceType(
            "Observation",
            clinical=True,
            view_permission="assessments.view_instrumentresponse",
            search_params=("patient", "subject", "category", "code", "date"),
            read=_observation_read,
            search=_observation_search,
            needs_patient=True,
        ),
        ResourceType(
            "MedicationAdministration",
            clinical=True,
            view_permission="infusions.view_infusionsession",
            search_params=("patient", "subject", "status", "effective-time"),
            read=_read(_administrations, _administration_row),
            search=_administration_search,
            needs_patient=True,
        ),
        ResourceType(
            "Encounter",
            clinical=True,
            view_permission="consultations.view_consultation",
            search_params=("patient", "subject", "date", "status"),
            read=_source_read(ENCOUNTER_SOURCES),
            search=_source_search(ENCOUNTER_SOURCES, "date"),
            needs_patient=True,
        ),
        ResourceType(
            "Condition",
            clinical=True,
            view_permission="consultations.view_consultation",
            search_params=("patient", "subject", "category", "code", "recorded-date"),
            read=_condition_read,
            search=_condition_search,
            needs_patient=True,
        ),
        ResourceType(
            "QuestionnaireResponse",
            clinical=True,
            view_permission="assessments.view_instrumentresponse",
            search_params=("patient", "subject", "authored", "status"),
            read=_read(_questionnaire_responses, _questionnaire_row),
            search=_questionnaire_search,
            needs_patient=True,
        ),
        ResourceType(
            "AllergyIntolerance",
            clinical=True,
            view_permission="consultations.view_consultation",
            search_params=("patient", "clinical-status"),
            read=_read(_allergies, _allergy_row),
            search=_allergy_search,
            needs_patient=True,
        ),
        ResourceType(
            "MedicationStatement",
            clinical=True,
            view_permission="consultations.view_consultation",
            search_params=("patient", "subject", "status"),
            read=_read(_medications, _medication_row),
            search=_medication_search,
            needs_patient=True,
        ),
        ResourceType(
            "AdverseEvent",
            clinical=True,
            view_permission="infusions.view_infusionsession",
            search_params=("patient", "subject", "date"),
            read=_read(_adverse_events, _adverse_event_row),
            search=_adverse_event_search,
            needs_patient=True,
        ),
        ResourceType(
            "DocumentReference",
            clinical=True,
            view_permission="documents.download_clinical_document",
            search_params=("patient", "subject", "date", "status"),
            read=_read(documents_of_patients, _document_row),
            search=_document_search,
            needs_patient=True,
        ),
        ResourceType(
            "Binary",
            clinical=True,
            view_permission="documents.download_clinical_document",
            search_params=(),
            read=_read(documents_of_patients, _binary_row),
            search=_no_search,
            searchable=False,
        ),
        ResourceType(
            "Provenance",
            clinical=True,
            view_permission="consultations.view_consultation",
            search_params=("patient", "recorded"),
            read=_source_read(PROVENANCE_SOURCES),
            search=_source_search(PROVENANCE_SOURCES, "recorded"),
            needs_patient=True,
        ),
        ResourceType(
            "Organization",
            clinical=False,
            view_permission="scheduling.view_appointment",
            search_params=("_id", "name"),
            read=_organization_read,
            search=_organization_search,
        ),
        ResourceType(
            "PractitionerRole",
            clinical=False,
            view_permission="scheduling.view_appointment",
            search_params=("_id", "practitioner"),
            read=_read(_practitioner_roles, _practitioner_role_row),
            search=_practitioner_role_search,
        ),
    )
}


def included_patients(rows: list[Row]) -> list[Patient]:
    """``_include=<Type>:patient``: the patients of a page's rows, in one query."""
    ids = {row.patient_id for row in rows if row.patient_id is not None}
    return list(api_patients().filter(pk__in=ids).order_by("id")) if ids else []
