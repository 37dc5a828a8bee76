"""Reads of prescribers' credentials."""

from __future__ import annotations

from datetime import date

from django.apps import apps
from django.db import connection
from django.db.models import Case, Count, IntegerField, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from accounts.roles import GROUP_NAMES, Role
from prescribers import rules
from prescribers.models import DEARegistration, PolicyChange, PrescriberProfile, StateLicence

# The user's profile, licences and DEA registrations in one statement (one row per credential,
# plus the profile's own row): every page that offers a prescriber's decision asks it first, and
# a profile with two prefetches was three round trips on each of them.
_CREDENTIALS_SQL = """
SELECT 'profile', NULL::text, NULL::text, NULL::date, NULL::bigint, '' FROM {profile} p WHERE p.user_id = %(user)s
UNION ALL
SELECT 'licence', l.state, l.number, l.expires_on, NULL, l.state
FROM {licence} l JOIN {profile} p ON p.id = l.profile_id WHERE p.user_id = %(user)s
UNION ALL
SELECT 'registration', loc.name, r.number, r.expires_on, r.location_id, loc.name
FROM {registration} r JOIN {profile} p ON p.id = r.profile_id JOIN {location} loc ON loc.id = r.location_id
WHERE p.user_id = %(user)s
ORDER BY 6
"""


_NO_PROFILE = "No prescriber credentials (NPI, licence, DEA registration) are on file: ask an administrator."


def credential_problems_for(user, *, location=None, today: date | None = None) -> list[str]:
    """Why ``user`` may not make a prescriber's decision today (``[]`` when they may).

    With ``location`` only that location's DEA registration counts; without one (a decision
    not tied to a place, such as signing a plan), any current registration does.
    """
    today = today or timezone.localdate()
    if user is None or user.pk is None:
        return [_NO_PROFILE]
    sql = _CREDENTIALS_SQL.format(  # nosec B608 - only the models' own table names
        profile=PrescriberProfile._meta.db_table,
        licence=StateLicence._meta.db_table,
        registration=DEARegistration._meta.db_table,
        location=apps.get_model("scheduling", "Location")._meta.db_table,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"user": user.pk})
        rows = cursor.fetchall()
    if not any(kind == "profile" for kind, *_ in rows):
        return [_NO_PROFILE]
    licences = [
        rules.Held("licence", where, number, until) for kind, where, number, until, _, _ in rows if kind == "licence"
    ]
    registrations = [
        rules.Held("registration", where, number, until)
        for kind, where, number, until, location_id, _ in rows
        if kind == "registration" and (location is None or location_id == location.pk)
    ]
    return rules.credential_problems(licences=licences, registrations=registrations, today=today)


def prescribers_without_complete_profile(*, today: date | None = None) -> list[tuple[User, list[str]]]:
    """Active users in the prescriber role who cannot act as prescribers yet, with why (no
    profile, no current licence, no current DEA registration), for the administrator's home.

    Users who came from the single clinician role without a nursing credential hold the role
    but none of its decisions until an administrator completes their profile (or moves them to
    the nurse role): every decision asks ``credential_problems_for`` first. A handful of rows,
    read in three queries whatever their number."""
    from django.contrib.auth import get_user_model

    today = today or timezone.localdate()
    users = (
        get_user_model()
        .objects.filter(groups__name=GROUP_NAMES[Role.PRESCRIBER], is_active=True)
        .select_related("prescriber_profile")
        .prefetch_related("prescriber_profile__licences", "prescriber_profile__registrations__location")
        .order_by("last_name", "first_name", "pk")
        .distinct()
    )
    found = []
    for user in users:
        profile = getattr(user, "prescriber_profile", None)
        if profile is None:
            found.append((user, ["No prescriber profile (credential, NPI, licence, DEA registration)."]))
            continue
        problems = rules.credential_problems(
            licences=[rules.Held("licence", h.state, h.number, h.expires_on) for h in profile.licences.all()],
            registrations=[
                rules.Held("registration", h.location.name, h.number, h.expires_on) for h in profile.registrations.all()
            ],
            today=today,
        )
        if problems:
            found.append((user, problems))
    return found


def is_medical_director(user) -> bool:
    return PrescriberProfile.objects.filter(user=user, medical_director=True).exists()


def signature_text(user) -> str:
    """The credential and NPI a signature carries, as they are now ("MD, NPI 1234567893")."""
    profile = PrescriberProfile.objects.filter(user=user).first()
    return f"{profile.credential}, NPI {profile.npi}" if profile is not None else ""


def policy_changes(*, limit: int = 50) -> list[PolicyChange]:
    """Pending changes first, then the latest decided ones."""
    pending_first = Case(
        When(status=PolicyChange.Status.PENDING, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return list(
        PolicyChange.objects.select_related("proposed_by", "decided_by").order_by(pending_first, "-proposed_at", "-id")[
            :limit
        ]
    )


def pending_policy_changes_for(user) -> int:
    """How many policy changes await ``user``'s sign-off: 0 unless they are the medical
    director. One query either way (the home page pins its count)."""
    pending = (
        PolicyChange.objects.filter(status=PolicyChange.Status.PENDING)
        .order_by()  # the model's ordering would join the GROUP BY
        .annotate(group=Value(1))
        .values("group")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        PrescriberProfile.objects.filter(user=user, medical_director=True)
        .annotate(pending=Coalesce(Subquery(pending[:1]), 0))
        .values_list("pending", flat=True)
        .first()
        or 0
    )
