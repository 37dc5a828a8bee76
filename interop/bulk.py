"""What an export reads: every resource of a type for a set of patients, streamed.

Every resource type comes from the one registry, ``selectors.RESOURCE_TYPES``, so a type added
there is exported without a change here. A type listed in ``_STREAMS`` is read with a server-side
cursor over its own query (``.iterator(chunk_size)``: the worker's memory stays flat however many
rows there are) and filtered by ``_since`` on its own timestamp; any other type is read through
its search a batch of patients at a time, and ``_since`` keeps the resources whose
``meta.lastUpdated`` is later (or that do not say, so nothing changed is left out).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from interop import resources, selectors
from patients.models import Patient
from scheduling.models import Appointment, Location

CHUNK = 1000  # rows per server-side cursor fetch
PATIENT_BATCH = 200  # patients per search for a type read through its search
PAGE = 100


@dataclass(frozen=True)
class Scope:
    """Whose resources: ``patients`` is a query of patient ids (None: every patient and the
    resources about none, such as practitioners and locations)."""

    patients: QuerySet | None
    since: datetime | None = None
    # With patients named, whether the resources about no patient come too (a record's bundle
    # names its practitioners and locations; a Patient or Group export, per the Bulk Data spec, not).
    with_shared: bool = False


def group_patients(location_id: int) -> QuerySet:
    """A Group here is a location's patients: everyone with an appointment booked there."""
    return Appointment.objects.filter(location_id=location_id).values("patient_id").distinct()


def patient_scoped(rtype: selectors.ResourceType) -> bool:
    return rtype.name == "Patient" or "patient" in rtype.search_params or "subject" in rtype.search_params


def rows(rtype: selectors.ResourceType, scope: Scope) -> Iterator[selectors.Row]:
    """Every row of ``rtype`` in ``scope``, in a stable order, a chunk at a time."""
    if scope.patients is not None and not patient_scoped(rtype) and not scope.with_shared:
        return iter(())
    stream = _STREAMS.get(rtype.name)
    if stream is not None:
        return stream(scope)
    return _through_search(rtype, scope)


# Types read with their own query ------------------------------------------------------------------


def _stream(
    queryset: QuerySet, scope: Scope, *, patient: str | None, stamp: str | None, to_row: Callable[[Any], selectors.Row]
) -> Iterator[selectors.Row]:
    if scope.patients is not None and patient is not None:
        queryset = queryset.filter(**{f"{patient}__in": scope.patients})
    if scope.since is not None and stamp is not None:
        queryset = queryset.filter(**{f"{stamp}__gt": scope.since})
    # Ordered by key so that a re-run writes the same file; the cursor keeps memory flat.
    for obj in queryset.order_by("pk").iterator(chunk_size=CHUNK):
        yield to_row(obj)


def _patients(scope: Scope) -> Iterator[selectors.Row]:
    return _stream(selectors.api_patients(), scope, patient="pk", stamp="updated_at", to_row=selectors._patient_row)


def _appointments(scope: Scope) -> Iterator[selectors.Row]:
    qs = selectors._appointments()
    return _stream(qs, scope, patient="patient_id", stamp="updated_at", to_row=selectors._appointment_row)


def _observations(scope: Scope) -> Iterator[selectors.Row]:
    scores = selectors._scores().filter(superseded_by__isnull=True)
    yield from _stream(scores, scope, patient="patient_id", stamp="recorded_at", to_row=selectors._score_row)
    readings = selectors._readings()
    yield from _stream(
        readings, scope, patient="session__patient_id", stamp="entered_at", to_row=selectors._reading_row
    )


def _administrations(scope: Scope) -> Iterator[selectors.Row]:
    qs = selectors._administrations()
    return _stream(qs, scope, patient="patient_id", stamp="updated_at", to_row=selectors._administration_row)


def _shared(queryset_factory: Callable[[], QuerySet], to_row: Callable[[Any], selectors.Row]):
    def stream(scope: Scope) -> Iterator[selectors.Row]:
        # Few rows (the clinic's staff, its locations): every one, whatever _since says, since a
        # resource about a patient may name any of them.
        return _stream(queryset_factory(), Scope(None), patient=None, stamp=None, to_row=to_row)

    return stream


_STREAMS: dict[str, Callable[[Scope], Iterator[selectors.Row]]] = {
    "Patient": _patients,
    "Appointment": _appointments,
    "Observation": _observations,
    "MedicationAdministration": _administrations,
    "Practitioner": _shared(selectors._practitioners, selectors._practitioner_row),
    "Location": _shared(Location.objects.all, selectors._location_row),
}


# Any other type: its search, a batch of patients at a time -----------------------------------------


def _pages(rtype: selectors.ResourceType, params: dict[str, list[str]]) -> Iterator[selectors.Row]:
    offset = 0
    while offset <= selectors.SEARCH_OFFSET_LIMIT:
        page = rtype.search(params, offset, PAGE, None)  # the batches are of the scope's patients
        yield from page.rows
        if not page.has_next:
            return
        offset += PAGE


def _through_search(rtype: selectors.ResourceType, scope: Scope) -> Iterator[selectors.Row]:
    if not patient_scoped(rtype):
        found: Iterator[selectors.Row] = _pages(rtype, {})
    else:
        found = _by_patient_batches(rtype, scope)
    for row in found:
        if scope.since is None:
            yield row
            continue
        kept = [r for r in row.resources if _updated_after(r, scope.since)]
        if kept:
            yield selectors.Row(row.obj, row.patient_id, kept)


def _by_patient_batches(rtype: selectors.ResourceType, scope: Scope) -> Iterator[selectors.Row]:
    ids = Patient.objects.order_by("pk").values_list("pk", flat=True)
    if scope.patients is not None:
        ids = ids.filter(pk__in=scope.patients)
    last = 0
    key = "_id" if rtype.name == "Patient" else "patient"
    while True:
        batch = list(ids.filter(pk__gt=last)[:PATIENT_BATCH])  # keyset: no OFFSET over the patients
        if not batch:
            return
        last = batch[-1]
        yield from _pages(rtype, {key: [",".join(str(pk) for pk in batch)]})


def _updated_after(resource: resources.Resource, since: datetime) -> bool:
    stamp = (resource.get("meta") or {}).get("lastUpdated")
    if not stamp:
        return True
    try:
        return datetime.fromisoformat(stamp) > since
    except ValueError:
        return True
