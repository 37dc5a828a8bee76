"""The care team's documents: the progress letter to another clinician (registered with documents),
and the adjunct visits added to infusions' course-of-treatment summary."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from care_team import rules, selectors
from care_team.models import ProgressLetter
from documents import registry
from documents.models import DocumentKind
from documents.snapshots import local_text, user_text
from infusions.documents import course_summary
from infusions.models import AdverseEvent

# The questionnaires a progress letter reports (their trajectory over the course).
LETTER_INSTRUMENTS = ("phq9", "gad7")


def _adverse_events(plan) -> list[dict[str, str]]:
    events = (
        AdverseEvent.objects.filter(session__plan=plan)
        .select_related("session__appointment__location")
        .order_by("onset_at", "id")[:100]
    )
    return [
        {
            "date": local_text(e.onset_at, "m/d/Y"),
            "kind": e.get_kind_display() + (f": {e.kind_other}" if e.kind_other else ""),
            "severity": e.get_severity_display(),
            "outcome": e.get_outcome_display(),
        }
        for e in events
    ]


def _adjunct_part(patient, since=None) -> dict[str, int]:
    return selectors.adjunct_counts(patient.pk, since=since)


def progress_letter(letter: ProgressLetter) -> dict[str, Any]:
    """The letter as printed: the course so far from the course summary's own builder, cut to what
    the patient's authorisation lets this recipient see."""
    summary = course_summary(letter.plan)
    detail = rules.shows_clinical_detail(letter.authorisation.scope)
    sessions = [
        {key: row[key] for key in ("number", "date", "type", "status", *(("dose",) if detail else ()))}
        for row in summary["sessions"]
    ]
    outcomes = {
        "instruments": [i for i in summary["outcomes"]["instruments"] if i["code"] in LETTER_INSTRUMENTS]
        if detail
        else []
    }
    provider = letter.recipient.provider
    return {
        "letterhead": summary["letterhead"],
        "patient": summary["patient"],
        "recipient": provider.name,
        "recipient_part": {
            "name": provider.name,
            "role": letter.recipient.get_relationship_display(),
            "practice": provider.practice,
            "secure_fax": provider.secure_fax,
            "secure_email": provider.secure_email,
        },
        "letter": {
            "id": letter.pk,
            "milestone": letter.get_milestone_display(),
            "sessions_at_milestone": letter.sessions_at_milestone,
            "plan_text": letter.plan_text,
            "scope": letter.authorisation.get_scope_display(),
            "detail": detail,
            "authorised_on": letter.authorisation.signed_on.strftime("%m/%d/%Y"),
        },
        "plan": summary["plan"],
        "sessions": sessions,
        "sessions_completed": summary["sessions_completed"],
        "outcomes": outcomes,
        "adverse_events": _adverse_events(letter.plan) if detail else [],
        "adjunct": _adjunct_part(letter.patient),
        "next_appointment": summary["next_appointment"],
        "signature": {
            "signed_by": user_text(letter.signed_by),
            "signed_at": local_text(letter.signed_at),
        },
    }


def release_refusal(document) -> str:
    """Checked at every download: a letter is released only while its authorisation holds."""
    letter = ProgressLetter.objects.select_related("authorisation").filter(document_id=document.pk).first()
    if letter is None:
        return ""
    today = timezone.localdate()
    return rules.refusal(letter.authorisation.state(today))


def letter_refusal(letter: ProgressLetter) -> str:
    return rules.refusal(letter.authorisation.state(timezone.localdate()))


registry.register(
    DocumentKind.PROGRESS_LETTER,
    template="documents/progress_letter.html",
    build=progress_letter,
    patient_of=lambda letter: letter.patient,
    refuse=letter_refusal,
    refuse_release=release_refusal,
)
# The course summary counts the integration and psychotherapy visits since the course began.
registry.register_part(
    DocumentKind.COURSE_SUMMARY,
    "adjunct",
    lambda plan: _adjunct_part(plan.patient, since=plan.consultation.created_at),
)
