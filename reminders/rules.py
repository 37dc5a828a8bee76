"""Pure reminder rules: due instants, quiet hours, and the minimum-necessary template check.

Two offsets, both defined on the appointment's instant and the location's zone
(security-reference R7):

* ``hours_before``: exactly N hours of elapsed time before the start instant
  (a 24 h reminder across a DST change is 24 real hours earlier, so its local
  clock time differs from the visit's by an hour);
* ``day_before_at``: the local calendar day before the visit, at a local wall
  time. A wall time the clocks skip is moved forward by the gap (02:30 on a
  spring-forward night means 03:30); an ambiguous one means its first occurrence.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

# What a template may say: the clinic, the date, the time, the place, a link (minimum necessary).
ALLOWED_PLACEHOLDERS = frozenset({"clinic", "date", "time", "location", "address", "link"})
# Placeholders that would leak PHI or treatment details; named so the error can say why.
DENIED_PLACEHOLDERS = frozenset(
    {
        "patient",
        "name",
        "first_name",
        "last_name",
        "mrn",
        "date_of_birth",
        "dob",
        "appointment_type",
        "type",
        "treatment",
        "drug",
        "medication",
        "dose",
        "diagnosis",
        "clinician",
        "note",
        "reason",
        "phone",
        "email",
    }
)
# Words a reminder must never contain: treatment, drug or diagnosis (minimum necessary).
DENIED_WORDS = (
    "ketamine",
    "esketamine",
    "spravato",
    "ketalar",
    "infusion",
    "iv ",
    "intravenous",
    "dose",
    "mg",
    "drug",
    "medication",
    "treatment",
    "therapy",
    "depression",
    "depressive",
    "ptsd",
    "anxiety",
    "bipolar",
    "suicid",
    "psychiatr",
    "diagnos",
    "mental health",
    "ocd",
    "pain",
)
_WORD_RE = {
    w: re.compile(r"(?<![a-z])" + re.escape(w.strip()) + (r"(?![a-z])" if len(w.strip()) <= 4 else ""))
    for w in DENIED_WORDS
}


@dataclass(frozen=True)
class Offset:
    mode: str  # "hours_before" | "day_before_at"
    hours_before: int | None = None
    local_time: time | None = None


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    def contains(self, wall: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= wall < self.end
        return wall >= self.start or wall < self.end  # wraps midnight


def local_instant(day, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall time; gaps move forward, ambiguous times take the first."""
    naive = datetime.combine(day, wall.replace(tzinfo=None, fold=0))
    aware = naive.replace(tzinfo=zone, fold=0)
    # A nonexistent wall time read with fold=0 takes the offset before the gap, i.e. gap-length later.
    return aware.astimezone(UTC)


def due_at(*, start: datetime, tz_name: str, offset: Offset) -> datetime:
    """When a reminder for an appointment starting at ``start`` (aware) is due, in UTC (before quiet hours)."""
    start = start.astimezone(UTC)
    if offset.mode == "hours_before":
        return start - timedelta(hours=offset.hours_before or 0)
    if offset.mode == "day_before_at":
        zone = ZoneInfo(tz_name)
        day_before = start.astimezone(zone).date() - timedelta(days=1)
        return local_instant(day_before, offset.local_time or time(18, 0), zone)
    raise ValueError(f"Unknown offset mode {offset.mode!r}")


def after_quiet_hours(instant: datetime, *, tz_name: str, quiet: QuietHours | None) -> datetime:
    """Move an instant that falls in the local quiet hours to the next allowed local time."""
    if quiet is None or quiet.start == quiet.end:
        return instant
    zone = ZoneInfo(tz_name)
    local = instant.astimezone(zone)
    wall = local.time().replace(tzinfo=None, fold=0)
    if not quiet.contains(wall):
        return instant
    day = local.date()
    if quiet.start > quiet.end and wall >= quiet.start:
        day += timedelta(days=1)  # evening part of a window that wraps midnight
    return local_instant(day, quiet.end, zone)


def scheduled_at(*, start: datetime, tz_name: str, offset: Offset, quiet: QuietHours | None) -> datetime:
    return after_quiet_hours(due_at(start=start, tz_name=tz_name, offset=offset), tz_name=tz_name, quiet=quiet)


def placeholders(template: str) -> list[str]:
    return [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]


def template_problems(template: str) -> list[str]:
    """Why a reminder template is not minimum-necessary (empty list when it is fine)."""
    try:
        fields = placeholders(template)
    except ValueError as exc:
        return [f"The template is malformed ({exc}). Use {{clinic}}-style placeholders; double braces for a brace."]
    problems = []
    for field in fields:
        base = re.split(r"[.\[]", field, maxsplit=1)[0]
        if field != base or not field:
            problems.append(f"Use plain placeholders such as {{date}}, not {{{field}}}.")
        elif base in DENIED_PLACEHOLDERS:
            problems.append(f"{{{base}}} is not allowed: reminders carry only the clinic, date, time and place.")
        elif base not in ALLOWED_PLACEHOLDERS:
            allowed = ", ".join("{" + p + "}" for p in sorted(ALLOWED_PLACEHOLDERS))
            problems.append(f"Unknown placeholder {{{base}}}. Allowed: {allowed}.")
    words = denied_words_in(template)
    if words:
        problems.append(
            "Reminders must not name the treatment, drug or diagnosis; remove: " + ", ".join(sorted(words)) + "."
        )
    return problems


# A link's random token is not prose: "…9iv_…" in one would read as "IV" and fail a message at
# random. The links are ours (the site address and a token), so they are left out of the check.
_LINK_RE = re.compile(r"https?://\S+")


def denied_words_in(text: str) -> set[str]:
    lowered = _LINK_RE.sub(" ", text.lower())
    return {w.strip() for w, pattern in _WORD_RE.items() if pattern.search(lowered)}


def render(template: str, context: dict[str, str]) -> str:
    """Fill a checked template; only the allowed placeholders are ever passed in."""
    safe = {key: str(context.get(key, "")) for key in ALLOWED_PLACEHOLDERS}
    return template.format_map(safe)
