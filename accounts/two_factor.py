"""Second factors beyond the authenticator app: single-use recovery codes, replacing the app,
and an administrator's reset for someone who lost both (ASVS 6.5, 7.4.3; security-reference A4, A8).

Recovery codes hang off a django-otp StaticDevice (the device a recovery sign-in is recorded
against, throttled by django-otp like the app's codes): ten per user, each usable once, 80 random
bits each and kept only as their SHA-256 (:class:`accounts.models.RecoveryCode`); the device's
own clear-text token table stays empty. Replacing or resetting second factors ends the person's other
sessions (a stolen session must not get to enrol its own app). Every change is audited."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from accounts import audit
from accounts.models import AuditEvent, RecoveryCode, User
from core.audit import Verb

RECOVERY_CODES = 10
RECOVERY_DEVICE_NAME = "Recovery codes"
# 16 characters of the base-32 alphabet: 80 random bits per code.
RECOVERY_CODE_LENGTH = 16
_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"


def audit_event(*, actor: User, action: str, target, verb: Verb = Verb.PRIVILEGE_CHANGE, changes=None) -> None:
    """One audit event of a change to, or use of, someone's second factors."""
    audit.record(
        actor=actor,
        action=f"accounts.two_factor.{action}",
        verb=verb,
        category=AuditEvent.Category.SECURITY,
        target=target,
        changes=changes,
    )


def totp_enrolment_device(*, user: User) -> TOTPDevice:
    """The authenticator app ``user`` is enrolling: the unconfirmed device, made on first use."""
    return TOTPDevice.objects.filter(user=user, confirmed=False).first() or TOTPDevice.objects.create(
        user=user, name="Authenticator app", confirmed=False
    )


@transaction.atomic
def totp_enrolment_confirm(*, user: User, device: TOTPDevice) -> None:
    """``user`` typed a right code from the device being enrolled: it becomes their second factor."""
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    audit_event(actor=user, action="enrolled", target=device)


def _normalised(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def recovery_code_hash(code: str) -> str:
    return hashlib.sha256(_normalised(code).encode()).hexdigest()


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.objects.filter(device__user=user, device__confirmed=True).count()


@transaction.atomic
def recovery_codes_issue(*, user: User) -> list[str]:
    """Ten new codes replace any old ones; returned (as shown, in groups of four) once and kept
    nowhere but as hashes."""
    device, _ = StaticDevice.objects.select_for_update().get_or_create(
        user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()  # clear-text tokens from before hashing, should any remain
    device.recovery_codes.all().delete()
    codes: set[str] = set()
    while len(codes) < RECOVERY_CODES:
        codes.add("".join(secrets.choice(_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH)))
    RecoveryCode.objects.bulk_create(RecoveryCode(device=device, code_sha256=recovery_code_hash(c)) for c in codes)
    audit_event(actor=user, action="recovery_codes_issued", target=device)
    return ["-".join(code[i : i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4)) for code in sorted(codes)]


@transaction.atomic
def recovery_code_verify(*, user: User, code: str) -> StaticDevice | None:
    """The user's recovery-code device if ``code`` is one of theirs (it is used up), else None.

    The device row is locked so the same code typed twice at once signs in only once; wrong
    codes count towards django-otp's throttle on the device."""
    device = StaticDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
    if device is None:
        return None
    allowed, _ = device.verify_is_allowed()
    used = allowed and device.recovery_codes.filter(code_sha256=recovery_code_hash(code)).delete()[0] > 0
    if not used:
        if allowed:
            device.throttle_increment()
        return None
    device.throttle_reset()
    audit_event(
        actor=user,
        action="recovery_code_used",
        target=device,
        verb=AuditEvent.Verb.LOGIN,
        changes={"codes_left": device.recovery_codes.count()},
    )
    return device


def _end_sessions(user: User, *, keep: str | None = None) -> int:
    """Delete the user's live sessions except ``keep`` (database sessions, Django's default;
    a clinic has at most a few hundred live at once, each decoded here)."""
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.session_key != keep and session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()
            ended += 1
    return ended


@transaction.atomic
def authenticator_remove(*, user: User, keep_session: str | None = None) -> None:
    """The user replaces their authenticator app: the old one stops working now, a new one is
    set up next in this session; their other sessions end."""
    removed = TOTPDevice.objects.filter(user=user).delete()[0]
    audit_event(
        actor=user,
        action="authenticator_removed",
        target=user,
        changes={"devices_removed": removed, "other_sessions_ended": _end_sessions(user, keep=keep_session)},
    )


@transaction.atomic
def two_factor_reset(*, user: User, by: User, reason: str) -> int:
    """An administrator clears someone's app, recovery codes and passkeys (lost phone and codes); they
    enrol again at their next sign-in. Returns the number of devices removed."""
    if not by.has_perm("accounts.reset_two_factor"):
        raise PermissionDenied
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why (e.g. how you confirmed who asked)."})
    removed = (
        TOTPDevice.objects.filter(user=user).delete()[0]
        + StaticDevice.objects.filter(user=user).delete()[0]
        + WebAuthnCredential.objects.filter(user=user).delete()[0]
    )
    audit_event(
        actor=by,
        action="reset",
        target=user,
        changes={"reason": reason[:500], "devices_removed": removed, "sessions_ended": _end_sessions(user)},
    )
    return removed
