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

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from assessments.instruments import INSTRUMENTS
from assessments.models import InstrumentResponse
from infusions.models import FlowsheetReading, InfusionSession
from interop import resources
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
    start = timezone.make_aware(datetime.combine(day, time.min))
    return prefix, start, start + timedelta(days=1)


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
    search: Callable[[dict[str, list[str]], int, int], Page]
    # Whether a search must name its patient (the record of many patients comes through $export).
    needs_patient: bool = False

    def visible_to(self, user: Any) -> bool:
        return bool(user.has_perm(self.view_permission) and (not self.clinical or user.has_perm(CLINICAL)))


def _page(queryset: QuerySet, offset: int, count: int, to_row: Callable[[Any], Row]) -> Page:
    total = queryset.count()
    objs = list(queryset[offset : offset + count])
    return Page(rows=[to_row(o) for o in objs], total=total, has_next=offset + count < total)


def _by_pk(queryset: QuerySet, resource_id: str, to_row: Callable[[Any], Row]) -> Row | None:
    if not (resource_id.isascii() and resource_id.isdigit()) or len(resource_id) > 12:
        return None
    obj = queryset.filter(pk=int(resource_id)).first()
    return to_row(obj) if obj is not None else None


# Patient


def _patient_row(p: Patient) -> Row:
    return Row(p, p.pk, [resources.patient(p)])


def _patient_search(params: dict[str, list[str]], offset: int, count: int) -> Page:
    qs = Patient.objects.order_by("legal_last_name", "legal_first_name", "id")
    if "_id" in params:
        qs = qs.filter(pk__in=_ids(params["_id"], "Patient"))
    for value in params.get("identifier", []):
        qs = qs.filter(mrn__iexact=_token_codes([value])[-1] if value else "")
    for value in params.get("family", []):
        qs = qs.filter(legal_last_name__istartswith=value.strip())
    for value in params.get("given", []):
        qs = qs.filter(Q(legal_first_name__istartswith=value.strip()) | Q(preferred_name__istartswith=value.strip()))
    for value in params.get("name", []):
        text = value.strip()
        qs = qs.filter(
            Q(legal_last_name__istartswith=text)
            | Q(legal_first_name__istartswith=text)
            | Q(preferred_name__istartswith=text)
        )
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
    return _page(qs, offset, count, _patient_row)


# Practitioner (the clinic's clinicians: staff who can be an appointment's clinician)


def _practitioners() -> QuerySet:
    return (
        get_user_model()
        .objects.filter(Q(prescriber_profile__isnull=False) | Q(scheduled_appointments__isnull=False))
        .distinct()
        .select_related("prescriber_profile")
        .order_by("id")
    )


def _practitioner_row(user: Any) -> Row:
    return Row(user, None, [resources.practitioner(user)])


def _practitioner_search(params: dict[str, list[str]], offset: int, count: int) -> Page:
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


def _location_search(params: dict[str, list[str]], offset: int, count: int) -> Page:
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


def _appointment_search(params: dict[str, list[str]], offset: int, count: int) -> Page:
    qs = _appointments()
    if "_id" in params:
        qs = qs.filter(pk__in=_ids(params["_id"], "Appointment"))
    patient_ids = _patient_ids(params)
    if patient_ids is not None:
        qs = qs.filter(patient_id__in=patient_ids)
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
    return InstrumentResponse.objects.select_related("superseded_by").order_by("-administered_at", "-id")


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


def _observation_search(params: dict[str, list[str]], offset: int, count: int) -> Page:
    patient_ids = _patient_ids(params)
    categories = set(_token_codes(params.get("category", []))) or {"survey", "vital-signs"}
    codes = _token_codes(params.get("code", []))
    scores, readings = _scores().filter(superseded_by__isnull=True), _readings()
    if patient_ids is not None:
        scores = scores.filter(patient_id__in=patient_ids)
        readings = readings.filter(session__patient_id__in=patient_ids)
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


def _administration_search(params: dict[str, list[str]], offset: int, count: int) -> Page:
    qs = _administrations()
    patient_ids = _patient_ids(params)
    if patient_ids is not None:
        qs = qs.filter(patient_id__in=patient_ids)
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
            read=_read(lambda: Patient.objects.all(), _patient_row),
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
    )
}


def included_patients(rows: list[Row]) -> list[Patient]:
    """``_include=<Type>:patient``: the patients of a page's rows, in one query."""
    ids = {row.patient_id for row in rows if row.patient_id is not None}
    return list(Patient.objects.filter(pk__in=ids).order_by("id")) if ids else []
