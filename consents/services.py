"""Every write of informed consent: keyword-only, atomic, validated with messages keyed by field,
audited. Drafting and publishing a version (administrators), signing (the patient, online or on
the clinic's tablet), recording a scanned paper consent and a withdrawal (staff), and the signing
links (the questionnaire links' token design: hashed, single use, date-of-birth check, expiry)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from consents import rules
from consents.models import (
    ConsentKind,
    ConsentLink,
    ConsentScan,
    ConsentSignature,
    ConsentVersion,
    ConsentWithdrawal,
    SignatureMethod,
)
from consents.selectors import policy_current
from core import tokens
from core.audit import Category, Verb
from core.hashing import content_sha256
from documents import services as documents
from documents.models import DocumentKind
from notifications.backends import SmsError
from notifications.email import send_templated_email
from notifications.sms import send_sms
from patients.links import LinkFlow
from patients.services import contact_log_entry_create

MANAGE = "consents.manage_consent_documents"
SIGN_IN_CLINIC = "consents.add_consentsignature"
WITHDRAW = "consents.add_consentwithdrawal"
SEND_LINK = "consents.add_consentlink"
STORAGE_ALIAS = documents.STORAGE_ALIAS


class LinkRefused(Exception):
    """The link cannot be used; one message for every reason the patient could hit."""


LINKS = LinkFlow(ConsentLink, audit_action="consents.link", category=Category.CLINICAL, refused=LinkRefused)


def _require(by: User, perm: str) -> None:
    if not by.has_perm(perm):
        raise PermissionDenied


# --- Versions (administrators) ------------------------------------------------------


def _version_problems(*, kind: str, title: str, version_label: str, body: str, exclude: int | None) -> dict:
    problems: dict[str, str] = {}
    if kind not in ConsentKind.values:
        problems["kind"] = "Choose which consent this is."
    if not title.strip():
        problems["title"] = "Give the document's title."
    if not version_label.strip():
        problems["version_label"] = "Give the version as printed on the document."
    elif (
        ConsentVersion.objects.filter(kind=kind, version_label__iexact=version_label.strip())
        .exclude(pk=exclude or 0)
        .exists()
    ):
        problems["version_label"] = "This consent already has a version with that name."
    if not body.strip():
        problems["body"] = "Write the text the patient reads and signs."
    return problems


@transaction.atomic
def consent_version_draft(
    *,
    by: User,
    kind: str,
    title: str,
    version_label: str,
    body: str,
    summary_of_changes: str = "",
    version: ConsentVersion | None = None,
    now: datetime | None = None,
) -> ConsentVersion:
    """Create a draft, or save changes to one (``version``); a published version is never edited."""
    _require(by, MANAGE)
    if version is not None:
        version = ConsentVersion.objects.select_for_update().get(pk=version.pk)
        if version.is_published:
            raise ValidationError("A published version never changes: draft a new version instead.")
        kind = version.kind
    problems = _version_problems(
        kind=kind, title=title, version_label=version_label, body=body, exclude=version.pk if version else None
    )
    if problems:
        raise ValidationError(problems)
    values = {
        "title": title.strip(),
        "version_label": version_label.strip(),
        "body": body.strip(),
        "summary_of_changes": summary_of_changes.strip(),
    }
    if version is None:
        version = ConsentVersion.objects.create(kind=kind, created_by=by, created_at=now or timezone.now(), **values)
        verb, action = Verb.CREATE, "consents.version.drafted"
    else:
        for name, value in values.items():
            setattr(version, name, value)
        version.save(update_fields=list(values))
        verb, action = Verb.UPDATE, "consents.version.edited"
    audit.record(
        actor=by,
        action=action,
        verb=verb,
        category=Category.CONFIGURATION,
        target=version,
        changes={"kind": version.kind, "version": version.version_label},
    )
    return version


@transaction.atomic
def consent_version_publish(*, version: ConsentVersion, by: User, now: datetime | None = None) -> ConsentVersion:
    """Fix a draft's wording for good, with the SHA-256 of its content. Patients who signed an
    earlier version of the kind must sign this one before their next infusion."""
    _require(by, MANAGE)
    locked = ConsentVersion.objects.select_for_update().get(pk=version.pk)
    if locked.is_published:
        raise ValidationError("This version is already published.")
    locked.content_sha256 = content_sha256(locked.content())
    locked.published_at = now or timezone.now()
    locked.published_by = by
    locked.save(update_fields=["content_sha256", "published_at", "published_by"])
    audit.record(
        actor=by,
        action="consents.version.published",
        verb=Verb.SIGN,
        category=Category.CONFIGURATION,
        target=locked,
        changes={"kind": locked.kind, "version": locked.version_label, "content_sha256": locked.content_sha256},
    )
    return locked


# --- Signing ------------------------------------------------------------------------


def _signable(version: ConsentVersion, at: datetime) -> None:
    if not version.is_published or version.published_at is None or version.published_at > at:
        raise ValidationError("This version of the consent is not published.")
    newer = ConsentVersion.objects.filter(
        kind=version.kind, published_at__gt=version.published_at, published_at__lte=at
    )
    if newer.exists():
        raise ValidationError("A newer version of this consent has been published: read and sign that one.")


def _issue_document(signature: ConsentSignature, *, by: User) -> None:
    """Render the signed consent once as an immutable PDF (the documents app renders it after commit)."""
    documents.issue(kind=DocumentKind.SIGNED_CONSENT, subject=signature, by=by)


def _signature_audit(signature: ConsentSignature, *, actor: User | None, action: str) -> None:
    audit.record(
        actor=actor,
        action=action,
        verb=Verb.SIGN,
        category=Category.CLINICAL,
        target=signature,
        patient=signature.patient,
        changes={
            "kind": signature.kind,
            "version": signature.version.version_label,
            "version_sha256": signature.version_sha256,
            "method": signature.method,
            "drawn": bool(signature.signature_png),
        },
    )


@transaction.atomic
def consent_sign(
    *,
    patient,
    version: ConsentVersion,
    typed_name: str,
    signature_data_url: str = "",
    ip_address: str | None,
    user_agent: str,
    link: ConsentLink | None = None,
    by: User | None = None,
    now: datetime | None = None,
) -> ConsentSignature:
    """The patient signs ``version``: online through ``link``, or in the clinic on a tablet that
    ``by`` (a signed-in member of staff) handed over. The typed full name is the legal signature;
    the drawing is kept when there is one (a keyboard-only signer may leave it empty)."""
    now = now or timezone.now()
    if link is None:
        if by is None:
            raise PermissionDenied
        _require(by, SIGN_IN_CLINIC)
        method = SignatureMethod.IN_CLINIC
    else:
        link = ConsentLink.objects.select_for_update().get(pk=link.pk)
        if link.patient_id != patient.pk or link.exchanged_at is None or link.revoked_at is not None:
            raise LinkRefused("closed")
        if link.completed_at is not None or link.expires_at <= now or version.kind not in link.kinds:
            raise LinkRefused("closed")
        method = SignatureMethod.ONLINE
    _signable(version, now)
    problems: dict[str, str] = {}
    if problem := rules.typed_name_problem(typed=typed_name, last_name=patient.legal_last_name):
        problems["typed_name"] = problem
    try:
        png = rules.signature_png(signature_data_url)
    except ValueError as exc:
        problems["signature"] = str(exc)
        png = b""
    if problems:
        raise ValidationError(problems)
    signature = ConsentSignature.objects.create(
        patient=patient,
        version=version,
        kind=version.kind,
        version_sha256=version.content_sha256,
        method=method,
        typed_name=" ".join(typed_name.split())[:200],
        signature_png=png,
        signed_at=now,
        ip_address=ip_address or None,
        user_agent=(user_agent or "")[:400],
        link=link,
        recorded_by=by if link is None else None,
        created_at=now,
    )
    _signature_audit(signature, actor=by if link is None else None, action="consents.consent.signed")
    if link is not None:
        signed = set(ConsentSignature.objects.filter(link=link).values_list("kind", flat=True))
        if all(kind in signed for kind in link.kinds):
            link.completed_at = now
            link.save(update_fields=["completed_at"])
    _issue_document(signature, by=by or link.created_by)  # type: ignore[union-attr]  # one of them is set
    return signature


def _store_scan(signature: ConsentSignature, *, upload, head: bytes, body: bytes) -> ConsentScan:
    digest = hashlib.sha256(body).hexdigest()
    scan = ConsentScan(
        signature=signature,
        filename=(getattr(upload, "name", "") or "scan")[:200],
        content_type=upload.content_type,
        sha256=digest,
        size_bytes=len(body),
    )
    if STORAGE_ALIAS in settings.STORAGES:
        name = f"consents/{signature.pk}-{digest[:16]}"
        scan.storage_name = storages[STORAGE_ALIAS].save(name, ContentFile(body))
    else:
        scan.content = body
    scan.save()
    return scan


@transaction.atomic
def consent_paper_record(
    *,
    patient,
    version: ConsentVersion,
    typed_name: str,
    signed_on: date,
    upload,
    by: User,
    now: datetime | None = None,
) -> ConsentSignature:
    """A consent the patient signed on paper (the printed ``version``), scanned and uploaded by staff:
    the equivalent of signing online. The scan is type- and size-checked and kept with its SHA-256."""
    _require(by, SIGN_IN_CLINIC)
    now = now or timezone.now()
    problems: dict[str, str] = {}
    if not typed_name.strip():
        problems["typed_name"] = "Give the name the patient signed with."
    if signed_on is None or signed_on > timezone.localdate(now):
        problems["signed_on"] = "Give the date on the paper consent (not in the future)."
    size = getattr(upload, "size", 0) or 0
    head = b""
    if upload is not None and size <= rules.SCAN_MAX_BYTES:
        upload.seek(0)
        head = upload.read(16)
    if upload is None:
        problems["scan"] = "Upload the scanned paper consent."
    elif problem := rules.scan_problem(size_bytes=size, content_type=upload.content_type or "", head=head):
        problems["scan"] = problem
    if not version.is_published:
        problems["version"] = "Choose a published version."
    if problems:
        raise ValidationError(problems)
    signed_at = timezone.make_aware(datetime.combine(signed_on, time(12)))
    signed_at = min(signed_at, now)
    upload.seek(0)
    body = upload.read()
    signature = ConsentSignature.objects.create(
        patient=patient,
        version=version,
        kind=version.kind,
        version_sha256=version.content_sha256,
        method=SignatureMethod.PAPER,
        typed_name=" ".join(typed_name.split())[:200],
        signed_at=signed_at,
        recorded_by=by,
        created_at=now,
    )
    scan = _store_scan(signature, upload=upload, head=head, body=body)
    _signature_audit(signature, actor=by, action="consents.consent.paper_recorded")
    audit.record(
        actor=by,
        action="consents.scan.stored",
        verb=Verb.CREATE,
        category=Category.CLINICAL,
        target=scan,
        patient=patient,
        changes={"sha256": scan.sha256, "size_bytes": scan.size_bytes, "content_type": scan.content_type},
    )
    return signature


def scan_bytes(scan: ConsentScan) -> bytes:
    if scan.storage_name:
        with storages[STORAGE_ALIAS].open(scan.storage_name, "rb") as handle:
            return handle.read()
    return bytes(scan.content or b"")


@transaction.atomic
def consent_withdraw(
    *, signature: ConsentSignature, reason: str, by: User, now: datetime | None = None
) -> ConsentWithdrawal:
    """The patient withdraws a consent: a new record with the reason (the signature is never edited)."""
    _require(by, WITHDRAW)
    if not reason.strip():
        raise ValidationError({"reason": "Say why (in the patient's words where possible)."})
    locked = ConsentSignature.objects.select_for_update().get(pk=signature.pk)
    if ConsentWithdrawal.objects.filter(signature=locked).exists():
        raise ValidationError("This consent has already been withdrawn.")
    withdrawal = ConsentWithdrawal.objects.create(
        signature=locked,
        patient_id=locked.patient_id,
        reason=reason.strip()[:300],
        withdrawn_at=now or timezone.now(),
        recorded_by=by,
    )
    audit.record(
        actor=by,
        action="consents.consent.withdrawn",
        verb=Verb.CREATE,
        category=Category.CLINICAL,
        target=withdrawal,
        patient=locked.patient,
        changes={"kind": locked.kind, "signature": locked.pk},
    )
    return withdrawal


# --- Signing links ------------------------------------------------------------------


@dataclass(frozen=True)
class NewLink:
    link: ConsentLink
    token: str  # handed out once; only its hash is stored


@transaction.atomic
def consent_link_create(
    *,
    patient,
    kinds: list[str],
    by: User,
    verified: bool = False,
    return_path: str = "",
    now: datetime | None = None,
) -> NewLink:
    """A link for ``patient`` to sign ``kinds``. ``verified``: the caller (the pre-visit packet)
    has already checked the patient's date of birth on its own link, so this one opens at once."""
    _require(by, SEND_LINK)
    wanted = [kind for kind in ConsentKind.values if kind in kinds]
    if not wanted:
        raise ValidationError({"kinds": "Choose the consents to sign."})
    if return_path and (not return_path.startswith("/") or return_path.startswith("//")):
        raise ValidationError({"return_path": "Only a page of this site."})
    now = now or timezone.now()
    token, token_hash = tokens.issue()
    link = ConsentLink.objects.create(
        patient=patient,
        kinds=wanted,
        token_sha256=token_hash,
        created_by=by,
        created_at=now,
        expires_at=now + timedelta(hours=policy_current().link_expiry_hours),
        exchanged_at=now if verified else None,
        return_path=return_path[:200],
    )
    audit.record(
        actor=by,
        action="consents.link.created",
        verb=Verb.CREATE,
        category=Category.CLINICAL,
        target=link,
        patient=patient,
        changes={"kinds": wanted, "expires_at": link.expires_at.isoformat(), "verified": verified},
    )
    return NewLink(link, token)


def link_for_token(token: str) -> ConsentLink | None:
    return LINKS.for_token(token)


def link_problem(link: ConsentLink, *, now: datetime | None = None) -> str:
    now = now or timezone.now()
    if link.revoked_at is not None:
        return "revoked"
    if link.completed_at is not None:
        return "completed"
    if link.expires_at <= now:
        return "expired"
    if link.dob_failures >= rules.MAX_DOB_FAILURES:
        return "locked"
    return ""


def consent_link_handover(*, link_id: int, now: datetime | None = None) -> ConsentLink:
    """Open a ``verified`` link (its patient identified by the flow that made it), once."""
    now = now or timezone.now()
    with transaction.atomic():
        link = ConsentLink.objects.select_for_update().select_related("patient").filter(pk=link_id).first()
        if link is None or link.exchanged_at is None or link.opened_at is not None or link_problem(link, now=now):
            raise LinkRefused
        link.opened_at = now
        link.save(update_fields=["opened_at"])
        audit.record(
            actor=None,
            action="consents.link.opened",
            verb=Verb.READ,
            category=Category.CLINICAL,
            target=link,
            patient=link.patient,
            changes={"handed_over": True},
        )
    return link


def consent_link_exchange(*, link_id: int, date_of_birth: date | None, now: datetime | None = None) -> ConsentLink:
    """The date-of-birth check of a link whose token the caller matched: opens it (once).
    A wrong date counts towards locking the link, and that count stands though the call fails."""
    now = now or timezone.now()

    def problem(link: ConsentLink) -> str:
        return link_problem(link, now=now) or ("used" if link.exchanged_at is not None else "")

    def opened(link: ConsentLink) -> None:
        link.exchanged_at = link.opened_at = now
        link.save(update_fields=["exchanged_at", "opened_at"])

    return LINKS.check_identity(link_id=link_id, date_of_birth=date_of_birth, problem=problem, opened=opened)


@transaction.atomic
def consent_link_revoke(*, link: ConsentLink, by: User, now: datetime | None = None) -> ConsentLink:
    _require(by, SEND_LINK)
    locked = ConsentLink.objects.select_for_update().get(pk=link.pk)
    if locked.revoked_at is None:
        locked.revoked_at = now or timezone.now()
        locked.save(update_fields=["revoked_at"])
        audit.record(
            actor=by,
            action="consents.link.revoked",
            verb=Verb.UPDATE,
            category=Category.CLINICAL,
            target=locked,
            patient=locked.patient,
        )
    return locked


def link_message(*, url: str, expires_at: datetime) -> str:
    """Minimum necessary: no diagnosis, drug or treatment named in a text or an e-mail."""
    clinic = getattr(settings, "CLINIC_NAME", "the clinic")
    local = timezone.localtime(expires_at)
    return (
        f"{clinic}: please read and sign your forms before {local:%b %-d}: {url} If you did not expect this, call us."
    )


@transaction.atomic
def consent_link_send(*, new: NewLink, url: str, by: User) -> list[str]:
    """Text and/or e-mail the link on the channels the patient opted into; returns the channels used."""
    _require(by, SEND_LINK)
    link, patient = new.link, new.link.patient
    body = link_message(url=url, expires_at=link.expires_at)
    used = []
    if patient.sms_opt_in and patient.phone:
        try:
            send_sms(to=str(patient.phone), body=body, idempotency_key=f"consent-link-{link.pk}-sms")
            used.append("sms")
        except SmsError:
            pass
    if patient.email_opt_in and patient.email:
        send_templated_email(
            to=patient.email,
            subject=f"Forms to sign from {getattr(settings, 'CLINIC_NAME', 'the clinic')}",
            template="notifications/reminder_email",
            context={"body": body},
            idempotency_key=f"consent-link-{link.pk}-email",
        )
        used.append("email")
    if not used:
        raise ValidationError(
            "The patient has not opted in to texts or e-mail: read the link out or sign in the clinic."
        )
    ConsentLink.objects.filter(pk=link.pk).update(sent_channels=",".join(used))
    for channel in used:
        contact_log_entry_create(
            patient=patient, by=by, channel=channel, direction="out", summary=f"Consent signing link sent by {channel}."
        )
    return used
