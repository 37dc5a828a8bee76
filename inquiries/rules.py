"""Pure rules for inquiries: the vocabulary, the queue's lifecycle and what a submission needs.

Values in, values out: no ORM, no request, no ``now()`` (the caller passes ``today``). None of the
numbers here is clinical: the limits are clinic policy (configurable in settings, see
``inquiries.throttle``) and the reasons are the questions a person can answer before any visit.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final


class Reason:
    """Why the person reaches out: the four conditions the clinic treats, or "not sure".

    They group the intake's indications (``consultations.choices.IndicationChoice``) the way a
    person names them: depression covers MDD and treatment-resistant depression, chronic pain
    covers fibromyalgia and CRPS. No clinical detail is asked beyond this choice."""

    DEPRESSION = "depression"
    ANXIETY = "anxiety"
    PTSD = "ptsd"
    CHRONIC_PAIN = "chronic_pain"
    NOT_SURE = "not_sure"


REASON_LABELS: Final = {
    Reason.DEPRESSION: "Depression, including depression other treatments have not helped",
    Reason.ANXIETY: "Anxiety",
    Reason.PTSD: "Post-traumatic stress (PTSD)",
    Reason.CHRONIC_PAIN: "Chronic pain, such as fibromyalgia or CRPS",
    Reason.NOT_SURE: "Not sure / would like to talk it through",
}
# Short labels for the queue and the report.
REASON_SHORT: Final = {
    Reason.DEPRESSION: "Depression",
    Reason.ANXIETY: "Anxiety",
    Reason.PTSD: "PTSD",
    Reason.CHRONIC_PAIN: "Chronic pain",
    Reason.NOT_SURE: "Not sure",
}
# The intake indications (values of ``consultations.rules.Indication``) each reason covers.
REASON_INDICATIONS: Final[dict[str, frozenset[str]]] = {
    Reason.DEPRESSION: frozenset({"mdd", "trd"}),
    Reason.ANXIETY: frozenset({"gad"}),
    Reason.PTSD: frozenset({"ptsd"}),
    Reason.CHRONIC_PAIN: frozenset({"fibromyalgia", "crps"}),
    Reason.NOT_SURE: frozenset(),
}


class Who:
    SELF = "self"
    REFERRER = "referrer"


WHO_LABELS: Final = {
    Who.SELF: "I am asking for myself (or for someone I help)",
    Who.REFERRER: "I am a clinician referring a patient",
}


class Status:
    NEW = "new"
    CONTACTED = "contacted"
    BOOKED = "booked"
    CLOSED = "closed"


STATUS_LABELS: Final = {
    Status.NEW: "New",
    Status.CONTACTED: "Contacted",
    Status.BOOKED: "Consultation booked",
    Status.CLOSED: "Closed",
}
OPEN_STATUSES: Final = (Status.NEW, Status.CONTACTED)

# The queue's lifecycle. "Booked" needs a linked patient with an intake consultation booked (the
# service checks); a closed inquiry can be taken up again (the person calls back).
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    Status.NEW: frozenset({Status.CONTACTED, Status.BOOKED, Status.CLOSED}),
    Status.CONTACTED: frozenset({Status.BOOKED, Status.CLOSED}),
    Status.BOOKED: frozenset({Status.CLOSED}),
    Status.CLOSED: frozenset({Status.CONTACTED}),
}


def status_change_allowed(old: str, new: str) -> bool:
    return new in TRANSITIONS.get(old, frozenset())


class CloseReason:
    NOT_INTERESTED = "not_interested"
    UNREACHABLE = "unreachable"
    NOT_SUITABLE = "not_suitable"
    REFERRED_ELSEWHERE = "referred_elsewhere"
    DUPLICATE = "duplicate"
    NOT_GENUINE = "not_genuine"
    OTHER = "other"


CLOSE_REASON_LABELS: Final = {
    CloseReason.NOT_INTERESTED: "No longer interested",
    CloseReason.UNREACHABLE: "Could not be reached",
    CloseReason.NOT_SUITABLE: "Not suitable for treatment here",
    CloseReason.REFERRED_ELSEWHERE: "Referred elsewhere",
    CloseReason.DUPLICATE: "Duplicate of another inquiry",
    CloseReason.NOT_GENUINE: "Not a genuine inquiry",
    CloseReason.OTHER: "Other (say why)",
}


class Channel:
    """How the person agreed to be contacted (the contact log's channels of the same names)."""

    PHONE = "phone"
    SMS = "sms"
    EMAIL = "email"


CHANNEL_LABELS: Final = {Channel.PHONE: "Phone call", Channel.SMS: "Text message", Channel.EMAIL: "E-mail"}
# The contact detail each channel needs.
CHANNEL_NEEDS: Final = {Channel.PHONE: "phone", Channel.SMS: "phone", Channel.EMAIL: "email"}


def contact_problems(*, phone: str, email: str, channels: set[str]) -> dict[str, str]:
    """What is missing for the person to be contacted the ways they chose, keyed by field."""
    problems: dict[str, str] = {}
    if not channels:
        problems["contact_by"] = "Choose at least one way we may contact you."
    if not phone and not email:
        problems["phone"] = "Give a phone number or an e-mail address so that we can reach you."
    for channel in sorted(channels):
        field = CHANNEL_NEEDS.get(channel)
        if field == "phone" and not phone:
            problems.setdefault("phone", f"{CHANNEL_LABELS[channel]} needs a phone number.")
        elif field == "email" and not email:
            problems.setdefault("email", "E-mail needs an e-mail address.")
    return problems


def reminder_channels(*, who: str, phone: str, email: str, texts: bool, emails: bool) -> set[str]:
    """The channels that become the patient's reminder consent when the person is registered
    from their inquiry: the texts and e-mails they ticked, with the detail to reach them.

    The form asks for contact about the inquiry and, once a patient, for reminders and messages;
    the agreement is the person's own. A call is no reminder channel, and a referring clinician
    cannot agree for the patient, so those give none."""
    if who != Who.SELF:
        return set()
    given = set()
    if texts and phone:
        given.add(Channel.SMS)
    if emails and email:
        given.add(Channel.EMAIL)
    return given


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def contact_keys(*, phone: str, email: str, secret: str) -> list[str]:
    """Keyed hashes of each contact detail given, for the per-contact rate limit: the counter
    table never holds a phone number or an address, and a hash cannot be reversed by trying
    every phone number without the key."""
    keys = []
    for kind, value in (("phone", (phone or "").strip()), ("email", normalise_email(email))):
        if value:
            digest = hmac.new(secret.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
            keys.append(f"contact:{digest}")
    return keys


def address_key(*, address: str, secret: str) -> str:
    """A keyed hash of the client's address for the per-address rate limit."""
    digest = hmac.new(secret.encode(), f"ip:{address}".encode(), hashlib.sha256).hexdigest()
    return f"ip:{digest}"
