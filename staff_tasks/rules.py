"""Pure rules for tasks between staff: the vocabulary, who a task is for, and due times.

Values in, values out: no ORM, no request, no ``now()`` (the caller passes ``now``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from core.formatting import clock


class Kind:
    PRESCRIBER_REQUEST = "prescriber_request"
    CALLBACK = "callback"
    FORM_TO_CHASE = "form_to_chase"
    OTHER = "other"


KIND_LABELS = {
    Kind.PRESCRIBER_REQUEST: "Request for a prescriber",
    Kind.CALLBACK: "Call back",
    Kind.FORM_TO_CHASE: "Form to chase",
    Kind.OTHER: "Other",
}


class Status:
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


STATUS_LABELS = {Status.OPEN: "Open", Status.DONE: "Done", Status.CANCELLED: "Cancelled"}

# How far ahead a due time may be set: a task is work for the coming days and weeks, and a
# date years away is almost always a typo in the year (clinic policy, not a clinical number).
LONGEST_LEAD = timedelta(days=366)


class LocalTimeProblem(ValueError):
    """A wall-clock time that does not exist in the zone (the clocks go forward over it)."""


def due_at_utc(wall: datetime, tz_name: str) -> datetime:
    """The UTC instant of a naive wall-clock time read in ``tz_name``.

    A time skipped by the spring change is refused rather than silently moved an hour; a time
    that happens twice in the autumn is taken at its first occurrence, the earlier deadline.
    """
    zone = ZoneInfo(tz_name)
    naive = wall.replace(tzinfo=None)
    first = naive.replace(tzinfo=zone, fold=0)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise LocalTimeProblem(
            f"{clock(naive)} does not exist on {naive:%d %b %Y} here: the clocks go forward an hour. "
            "Choose another time."
        )
    return first.astimezone(UTC)


def due_problem(due_at: datetime, *, now: datetime) -> str:
    """Why a new due time cannot be accepted, or "" when it can."""
    if due_at < now - timedelta(minutes=1):
        return "The due time is in the past: choose a time from now on."
    if due_at > now + LONGEST_LEAD:
        return "The due time is more than a year away: check the year."
    return ""


def is_overdue(*, status: str, due_at: datetime, now: datetime) -> bool:
    return status == Status.OPEN and due_at < now


@dataclass(frozen=True)
class Viewer:
    """What decides a user's view of a task: who they are, their role, and whether the
    patient's clinical record is open to them."""

    user_id: int
    role: str
    clinical: bool


def may_act_on(*, viewer: Viewer, assignee_id: int | None, assignee_role: str, created_by_id: int | None) -> bool:
    """The assignee (in person or by role) and whoever asked may complete or cancel a task."""
    if assignee_id is not None and assignee_id == viewer.user_id:
        return True
    if assignee_role and assignee_role == viewer.role:
        return True
    return created_by_id is not None and created_by_id == viewer.user_id


def shows_clinical_note(viewer: Viewer) -> bool:
    """The clinical note is free text a clinician wrote for clinicians: only a user who may read
    the patient's clinical record sees it (never the front desk), whoever the task is for."""
    return viewer.clinical
