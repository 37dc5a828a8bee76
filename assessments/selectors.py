"""Reads of stored instrument responses (follow-ups and infusions read outcomes here).

"Current" means not superseded by a correction. Every query is bounded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, OuterRef, QuerySet

from assessments.models import InstrumentResponse, ResponseContext


def _current(qs: QuerySet[InstrumentResponse]) -> QuerySet[InstrumentResponse]:
    corrected = InstrumentResponse.objects.filter(supersedes=OuterRef("pk"))
    return qs.filter(~Exists(corrected))


def current_responses_for(*, subject: Any, with_staff: bool = True) -> list[InstrumentResponse]:
    """The current (uncorrected) responses recorded for ``subject`` (e.g. a consultation), oldest first.

    ``with_staff=False`` leaves out who entered each one, for a page that does not show it.
    """
    qs = InstrumentResponse.objects.filter(
        subject_type=ContentType.objects.get_for_model(subject), subject_id=subject.pk
    )
    if with_staff:
        qs = qs.select_related("entered_by")
    return list(_current(qs).order_by("administered_at", "id")[:100])


def current_responses_by_subject(
    *, subjects: list[Any], instruments: Iterable[str] | None = None
) -> dict[int, list[InstrumentResponse]]:
    """:func:`current_responses_for` of several subjects of one model at once (without who entered
    them), by the subject's pk: one query for a page that judges many subjects (the chair board)."""
    if not subjects:
        return {}
    qs = InstrumentResponse.objects.filter(
        subject_type=ContentType.objects.get_for_model(subjects[0]), subject_id__in=[s.pk for s in subjects]
    )
    if instruments is not None:
        qs = qs.filter(instrument__in=list(instruments))
    found: dict[int, list[InstrumentResponse]] = defaultdict(list)
    for response in _current(qs).order_by("subject_id", "administered_at", "id"):
        subject = found[int(response.subject_id or 0)]
        if len(subject) < 100:  # as current_responses_for's bound, per subject
            subject.append(response)
    return dict(found)


def patient_responses(
    *, patient, code: str | None = None, context: str | None = None, limit: int = 200
) -> list[InstrumentResponse]:
    """A patient's current responses, newest first (optionally one instrument and/or context)."""
    qs = InstrumentResponse.objects.filter(patient=patient)
    if code:
        qs = qs.filter(instrument=code)
    if context:
        qs = qs.filter(context=context)
    return list(_current(qs).select_related("entered_by").order_by("-administered_at", "-id")[:limit])


def latest_response(*, patient, code: str, context: str | None = None) -> InstrumentResponse | None:
    found = patient_responses(patient=patient, code=code, context=context, limit=1)
    return found[0] if found else None


def baseline_response(*, patient, code: str) -> InstrumentResponse | None:
    """The most recent current baseline (intake) response: what change is measured from."""
    return latest_response(patient=patient, code=code, context=ResponseContext.BASELINE)


def correction_chain(response: InstrumentResponse) -> list[InstrumentResponse]:
    """The response and every earlier version it corrects, newest first (bounded)."""
    chain = [response]
    while chain[-1].supersedes_id is not None and len(chain) < 50:
        chain.append(InstrumentResponse.objects.get(pk=chain[-1].supersedes_id))
    return chain
