"""Patient questionnaire links (security-reference A9) and self-report submission."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone

from accounts import audit
from accounts.models import User
from assessments.models import InstrumentResponse, ResponseContext, ResponseSource
from assessments.services import response_record
from core import ratelimit, tokens
from core.audit import Verb
from followups import rules
from followups.models import QuestionnaireLink, SafetyAlert
from followups.services._common import AUDIT_CATEGORY, _require, policy_current
from followups.services.boosters import booster_evaluate
from notifications.backends import SmsError
from notifications.email import send_templated_email
from notifications.sms import send_sms
from patients.links import LinkFlow
from patients.services import contact_log_entry_create
from reminders.rules import denied_words_in


class LinkRefused(Exception):
    """The link cannot be used; the message is the same for every reason the patient could hit."""


LINKS = LinkFlow(QuestionnaireLink, audit_action="followups.link", category=AUDIT_CATEGORY, refused=LinkRefused)


@dataclass(frozen=True)
class NewLink:
    link: QuestionnaireLink
    token: str  # shown once (in the message); only its hash is stored


@transaction.atomic
def link_create(
    *,
    patient,
    codes: list[str],
    by: User,
    clinician=None,
    context: str = ResponseContext.FOLLOW_UP,
    appointment=None,
    now: datetime | None = None,
) -> NewLink:
    _require(by, "followups.add_questionnairelink")
    if not rules.self_report_codes_valid(codes):
        raise ValidationError({"codes": "Choose one or more patient-reported questionnaires."})
    if context not in ResponseContext.values or context == ResponseContext.BASELINE:
        raise ValidationError({"context": "Choose when the questionnaire is for."})
    now = now or timezone.now()
    token, token_hash = tokens.issue()  # 256 bits
    link = QuestionnaireLink.objects.create(
        patient=patient,
        instruments=list(codes),
        context=context,
        appointment=appointment,
        clinician=clinician or (by if by.has_perm("patients.view_clinical_record") else None),
        token_sha256=token_hash,
        created_by=by,
        created_at=now,
        expires_at=now + timedelta(hours=policy_current().link_expiry_hours),
    )
    audit.record(
        actor=by,
        action="followups.link.created",
        verb=Verb.CREATE,
        category=AUDIT_CATEGORY,
        target=link,
        patient=patient,
        changes={"instruments": list(codes), "expires_at": link.expires_at.isoformat()},
    )
    return NewLink(link, token)


def link_message(*, url: str, expires_at: datetime) -> str:
    """Minimum necessary: no diagnosis, drug, treatment or instrument name (reminders' check)."""
    clinic = getattr(settings, "CLINIC_NAME", "the clinic")
    local = timezone.localtime(expires_at)
    return (
        f"{clinic}: please answer a short check-in before {local:%b %-d}, {formats.time_format(local)}: {url} "
        "The link works once. If you did not expect this, call us."
    )


@transaction.atomic
def link_send(*, new: NewLink, base_url: str, by: User | None) -> list[str]:  # None: the nightly invitations
    """Text and/or e-mail the link on the channels the patient opted into; returns the channels used."""
    link, patient = new.link, new.link.patient
    url = base_url.rstrip("/") + reverse("followups:link-open", args=[new.token])
    body = link_message(url=url, expires_at=link.expires_at)
    if denied_words_in(body):
        raise ValidationError("The message failed the minimum-necessary check.")
    used = []
    if patient.sms_opt_in and patient.phone:
        try:
            send_sms(to=str(patient.phone), body=body, idempotency_key=f"qlink-{link.pk}-sms")
            used.append("sms")
        except SmsError:
            pass
    if patient.email_opt_in and patient.email:
        send_templated_email(
            to=patient.email,
            subject=f"A short check-in from {getattr(settings, 'CLINIC_NAME', 'the clinic')}",
            template="notifications/reminder_email",
            context={"body": body},
            idempotency_key=f"qlink-{link.pk}-email",
        )
        used.append("email")
    if not used:
        raise ValidationError("The patient has not opted in to texts or e-mail; give them the questionnaire in clinic.")
    link.sent_channels = ",".join(used)
    link.save(update_fields=["sent_channels"])
    expires = timezone.localtime(link.expires_at)
    for channel in used:
        contact_log_entry_create(
            patient=patient,
            by=by,
            channel=channel,
            direction="out",
            summary=f"Questionnaire link sent by {channel} (expires {expires:%m/%d %H:%M}).",
        )
    return used


def rate_limited(*, key: str, limit: int, now: datetime | None = None) -> bool:
    """Count one request for ``key`` in its window; True once over ``limit`` (core.ratelimit)."""
    return ratelimit.hit(key, limit=limit, window=timedelta(minutes=rules.RATE_LIMIT_WINDOW_MINUTES), now=now)


def link_for_token(token: str) -> QuestionnaireLink | None:
    return LINKS.for_token(token)


def link_usable(link: QuestionnaireLink, *, now: datetime | None = None) -> bool:
    return not rules.link_problem(
        now=now or timezone.now(),
        expires_at=link.expires_at,
        exchanged_at=link.exchanged_at,
        revoked_at=link.revoked_at,
        dob_failures=link.dob_failures,
        max_dob_failures=policy_current().dob_max_failures,
    )


def link_exchange(*, link_id: int, date_of_birth: date | None, now: datetime | None = None) -> QuestionnaireLink:
    """Check the date of birth for a link whose token the caller already matched, and consume
    it (single use).

    Raises LinkRefused with one message for every failure; a wrong date of birth counts
    towards locking the link (that count is committed even though the call fails).
    """
    now = now or timezone.now()

    def problem(link: QuestionnaireLink) -> str:
        return rules.link_problem(
            now=now,
            expires_at=link.expires_at,
            exchanged_at=link.exchanged_at,
            revoked_at=link.revoked_at,
            dob_failures=link.dob_failures,
            max_dob_failures=policy_current().dob_max_failures,
        )

    def opened(link: QuestionnaireLink) -> None:
        link.exchanged_at = now
        link.save(update_fields=["exchanged_at"])

    return LINKS.check_identity(link_id=link_id, date_of_birth=date_of_birth, problem=problem, opened=opened)


@dataclass(frozen=True)
class SubmitResult:
    responses: list[InstrumentResponse]
    alerts: list[SafetyAlert]


@transaction.atomic
def self_report_submit(
    *, link: QuestionnaireLink, answers: Mapping[str, Any], now: datetime | None = None
) -> SubmitResult:
    """Score and file the patient's answers (patient-entered), raise alerts, close the link."""
    now = now or timezone.now()
    locked = QuestionnaireLink.objects.select_for_update().select_related("patient").get(pk=link.pk)
    if locked.completed_at is not None or locked.revoked_at is not None or locked.exchanged_at is None:
        raise LinkRefused("closed")
    responses = []
    for code in locked.instruments:
        response = response_record(
            patient=locked.patient,
            code=code,
            answers=answers[code],
            context=locked.context,
            by=None,
            source=ResponseSource.PATIENT,
            administered_at=now,
            subject=locked,
        )
        responses.append(response)
        if code == "phq9":
            booster_evaluate(response=response)
    # Raised by the safety check every stored response passes (the assessments hook).
    alerts = list(SafetyAlert.objects.filter(response__in=responses).order_by("id"))
    locked.completed_at = now
    locked.save(update_fields=["completed_at"])
    audit.record(
        actor=None,
        action="followups.link.completed",
        verb=Verb.CREATE,
        category=AUDIT_CATEGORY,
        target=locked,
        patient=locked.patient,
        changes={"responses": [r.pk for r in responses], "alerts": len(alerts)},
    )
    return SubmitResult(responses, alerts)


@transaction.atomic
def link_revoke(*, link: QuestionnaireLink, by: User) -> QuestionnaireLink:
    _require(by, "followups.add_questionnairelink")
    updated = QuestionnaireLink.objects.filter(pk=link.pk, completed_at=None, revoked_at=None).update(
        revoked_at=timezone.now()
    )
    if updated:
        audit.record(
            actor=by,
            action="followups.link.revoked",
            verb=Verb.UPDATE,
            category=AUDIT_CATEGORY,
            target=link,
            patient=link.patient,
        )
    link.refresh_from_db()
    return link
