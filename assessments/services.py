"""Writes of instrument responses. Scoring happens here, and only through ``instruments.score``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from assessments import hooks, instruments
from assessments.models import InstrumentResponse, ResponseContext, ResponseSource
from core.audit import Category, Verb

AUDIT_CATEGORY = Category.CLINICAL


@transaction.atomic
def response_record(
    *,
    patient,
    code: str,
    answers: Sequence[int] | Mapping[str, bool],
    context: str,
    by: User | None,
    administered_at: datetime | None = None,
    source: str = ResponseSource.CLINICIAN,
    subject: Any = None,
    supersedes: InstrumentResponse | None = None,
    correction_reason: str = "",
) -> InstrumentResponse:
    """Score ``answers`` with ``instruments.score`` and store the response, or raise ValidationError.

    ``by`` is the clinician entering it (None only for a patient's own portal entry).
    ``supersedes`` + ``correction_reason`` record a correction: the old response stays,
    unchanged, and the new one points at it. Every stored response then goes through the
    registered ``hooks`` (the follow-up stage's safety check among them).
    """
    if by is not None and not by.has_perm("assessments.add_instrumentresponse"):
        raise PermissionDenied
    if source == ResponseSource.CLINICIAN and by is None:
        raise ValueError("a clinician-entered response needs its author")
    if context not in ResponseContext.values:
        raise ValidationError({"context": f"Unknown context {context!r}."})
    try:
        result = instruments.score(code, answers)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc
    correction_reason = correction_reason.strip()
    if supersedes is not None:
        supersedes = InstrumentResponse.objects.select_for_update().get(pk=supersedes.pk)
        if supersedes.patient_id != patient.pk or supersedes.instrument != code:
            raise ValidationError("A correction must be for the same patient and instrument.")
        if InstrumentResponse.objects.filter(supersedes=supersedes).exists():
            raise ValidationError("That response has already been corrected; correct the newer one.")
        if not correction_reason:
            raise ValidationError({"correction_reason": "Say why the earlier answers are being corrected."})
    elif correction_reason:
        raise ValidationError({"correction_reason": "Only a correction has a correction reason."})
    now = timezone.now()
    stored_answers = dict(answers) if isinstance(answers, Mapping) else list(answers)
    response = InstrumentResponse(
        patient=patient,
        instrument=code,
        instrument_version=instruments.INSTRUMENTS[code].version,
        answers=stored_answers,
        total=result.total,
        band=result.severity,
        flags=sorted(result.flags),
        context=context,
        source=source,
        entered_by=by,
        administered_at=administered_at or now,
        recorded_at=now,
        subject_type=ContentType.objects.get_for_model(subject) if subject is not None else None,
        subject_id=subject.pk if subject is not None else None,
        supersedes=supersedes,
        correction_reason=correction_reason,
    )
    response.save(force_insert=True)
    audit.record(
        actor=by,
        action="assessments.response.corrected" if supersedes else "assessments.response.recorded",
        verb=Verb.CREATE,
        category=AUDIT_CATEGORY,
        target=response,
        patient=patient,
        changes={
            "instrument": code,
            "context": context,
            "total": result.total,
            "band": result.severity,
            "flags": sorted(result.flags),
            **({"supersedes": supersedes.pk} if supersedes else {}),
        },
    )
    hooks.response_recorded(response, subject)
    return response
