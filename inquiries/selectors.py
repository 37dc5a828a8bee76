"""Reads for the inquiry queue: the queue's page, the home panel, one inquiry with its contacts."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from inquiries import rules
from inquiries.models import Inquiry, InquiryContact
from patients.selectors import PossibleDuplicate, possible_duplicates
from scheduling.access import location_ids_for, may_see_location

QUEUE_FILTERS = {
    "open": ("Open (new and contacted)", Q(status__in=rules.OPEN_STATUSES)),
    "new": ("New", Q(status=rules.Status.NEW)),
    "contacted": ("Contacted", Q(status=rules.Status.CONTACTED)),
    "booked": ("Consultation booked", Q(status=rules.Status.BOOKED)),
    "closed": ("Closed", Q(status=rules.Status.CLOSED)),
    "all": ("All", Q()),
}


def _for(user) -> QuerySet[Inquiry]:
    """The inquiries of ``user``'s locations: those naming one of them, and those naming none (any
    desk may answer them). Every inquiry for chain-wide staff, or when no user is given."""
    ids = location_ids_for(user) if user is not None else None
    if ids is None:
        return Inquiry.objects.all()
    return Inquiry.objects.filter(Q(preferred_location__isnull=True) | Q(preferred_location_id__in=ids))


def in_their_queue(user, inquiry: Inquiry) -> bool:
    """Whether ``inquiry`` is in ``user``'s queue (the rule of :func:`_for`, for one inquiry)."""
    return inquiry.preferred_location_id is None or may_see_location(user, inquiry.preferred_location_id)


def queue(*, show: str = "open", user=None) -> QuerySet[Inquiry]:
    """The queue, oldest open inquiry first (they have waited longest); closed and all newest first.

    Only what a row shows is read: no contact details, which the detail page shows."""
    _label, condition = QUEUE_FILTERS.get(show, QUEUE_FILTERS["open"])
    order = ["submitted_at", "id"] if show in ("open", "new", "contacted") else ["-submitted_at", "-id"]
    return (
        _for(user)
        .filter(condition)
        .select_related("preferred_location", "patient")
        .only(
            "id",
            "first_name",
            "last_name",
            "reason",
            "who",
            "status",
            "submitted_at",
            "close_reason",
            "preferred_location__name",
            "patient__id",
            "patient__mrn",
        )
        .annotate(attempts=Count("contacts"))
        .order_by(*order)
    )


@dataclass(frozen=True)
class QueueSummary:
    new: int
    contacted: int
    oldest: list[Inquiry]


def home_summary(*, limit: int = 5, user=None) -> QueueSummary:
    """The front-desk home's panel: how many are new and contacted, and the longest waiting."""
    counts = _for(user).aggregate(
        new=Count("id", filter=Q(status=rules.Status.NEW)),
        contacted=Count("id", filter=Q(status=rules.Status.CONTACTED)),
    )
    oldest = list(queue(show="open", user=user)[:limit])
    return QueueSummary(new=counts["new"], contacted=counts["contacted"], oldest=oldest)


def inquiry_detail(pk: int) -> Inquiry | None:
    return (
        Inquiry.objects.select_related("preferred_location", "patient", "status_changed_by", "linked_by")
        .filter(pk=pk)
        .first()
    )


def contacts_for(inquiry: Inquiry) -> list[InquiryContact]:
    return list(InquiryContact.objects.filter(inquiry=inquiry).select_related("by").order_by("-at", "-id"))


def duplicates_for(inquiry: Inquiry) -> list[PossibleDuplicate]:
    """Registered patients that may be the person who sent the inquiry (the registry's own check)."""
    return possible_duplicates(
        legal_first_name=inquiry.first_name,
        legal_last_name=inquiry.last_name,
        date_of_birth=inquiry.date_of_birth,
        phone=str(inquiry.phone or ""),
        email=inquiry.email,
    )
