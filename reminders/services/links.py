"""The confirm/cancel link in a reminder (security-reference A9 shape): issue and spend.

Tokens are 256 bits from the OS CSPRNG, returned once; only their SHA-256 is stored. Reads (the
link a token or a scoped session opens) are in ``reminders.selectors``.
"""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone

from core import tokens as link_tokens
from core.site import site_url
from patients.services import contact_log_entry_create
from reminders import selectors
from reminders.models import LinkAction, Reminder, ReminderLink
from scheduling.models import Appointment
from scheduling.services import SchedulingError, appointment_transition_by_patient_link

# Reminders about a visit carry the link; other kinds (questionnaires, follow-up due) do not.
LINK_KINDS = {"appointment_reminder", "pre_infusion_instructions"}
LOGGED_LINK = "[confirm/cancel link]"


def link_url(token: str) -> str:
    return f"{site_url()}{reverse('reminders:visit-link', args=[token])}"


def reminder_links_issue(*, reminders: list[Reminder]) -> dict[int, str]:
    """A new single-use link for each of these reminders: reminder id → token, returned once.

    One upsert (INSERT … ON CONFLICT (reminder) DO UPDATE) for the lot, replacing any earlier link of
    each; only the token's hash is stored (A9).
    """
    # Only the token's hash is stored (A9); the token goes into the message once.
    issued = {r.pk: link_tokens.issue() for r in reminders}  # 256 bits from the OS CSPRNG (ASVS 11.5.1)
    if not issued:
        return {}
    now = timezone.now()
    ReminderLink.objects.bulk_create(
        [
            ReminderLink(
                reminder=r,
                appointment=r.appointment,
                appointment_start=r.appointment.start,
                token_hash=issued[r.pk][1],
                created_at=now,
                expires_at=r.appointment.start,
                used_at=None,
                action="",
            )
            for r in reminders
        ],
        update_conflicts=True,
        unique_fields=["reminder"],
        update_fields=[
            "appointment",
            "appointment_start",
            "token_hash",
            "created_at",
            "expires_at",
            "used_at",
            "action",
        ],
    )
    return {pk: token for pk, (token, _) in issued.items()}


class LinkRefused(Exception):
    """The link is spent, expired or its visit changed; the patient is asked to call."""


@transaction.atomic
def reminder_link_use(*, link_id: int, action: str) -> Appointment:
    """Spend the link: confirm or cancel its visit as the patient, and tell the front desk.

    Single use under concurrency: the link row is locked, and a second request finds it used.
    """
    if action not in LinkAction.values:
        raise LinkRefused("Unknown action.")
    link = ReminderLink.objects.select_for_update().filter(pk=link_id).first()
    if link is None:
        raise LinkRefused("This link is not valid.")
    link.appointment = Appointment.objects.select_related("location", "patient").get(pk=link.appointment_id)
    if not selectors.reminder_link_valid(link):
        raise LinkRefused("This link has already been used or has expired.")
    target = "confirmed" if action == LinkAction.CONFIRM else "cancelled"
    appointment = link.appointment
    if not (action == LinkAction.CONFIRM and appointment.status == "confirmed"):
        try:
            appointment = appointment_transition_by_patient_link(appointment=appointment, to_status=target)
        except SchedulingError as exc:
            raise LinkRefused(" ".join(exc.messages)) from None
    now = timezone.now()
    link.used_at, link.action = now, action
    link.save(update_fields=["used_at", "action"])
    local = appointment.start.astimezone(appointment.location.zone)
    verb = "confirmed" if action == LinkAction.CONFIRM else "CANCELLED"
    contact_log_entry_create(
        patient=appointment.patient,
        by=None,
        channel=link.reminder.channel,
        direction="in",
        summary=(
            f"Patient {verb} the visit of {formats.date_format(local, 'D j M')} {formats.time_format(local)} "
            f"at {appointment.location.name} through the reminder link."
        ),
    )
    return appointment
