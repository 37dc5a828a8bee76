"""Credentialed prescribers for tests: a valid NPI and DEA number, current unless told."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from django.utils import timezone

from prescribers import rules
from prescribers.models import DEARegistration, PrescriberProfile, StateLicence

_SERIAL = itertools.count(1)


def valid_npi(n: int) -> str:
    base = f"1{n:08d}"
    return next(base + str(d) for d in range(10) if rules.luhn_valid(rules.NPI_LUHN_PREFIX + base + str(d)))


def valid_dea(n: int, *, letter: str = "A", initial: str = "B") -> str:
    six = f"{n % 1_000_000:06d}"
    return f"{letter}{initial}{six}{rules.dea_check_digit(six)}"


def credentialed(
    user,
    *,
    credential: str = "MD",
    location=None,
    licence_expires: date | None = None,
    dea_expires: date | None = None,
    medical_director: bool = False,
) -> PrescriberProfile:
    """Give ``user`` a prescriber profile with an NY licence and a DEA registration at
    ``location`` (a new inactive one when None), both a year from expiry unless dates are given."""
    from scheduling.tests.factories import LocationFactory

    n = next(_SERIAL)
    next_year = timezone.localdate() + timedelta(days=365)
    profile, _ = PrescriberProfile.objects.update_or_create(
        user=user,
        defaults={"credential": credential, "npi": valid_npi(n), "medical_director": medical_director},
    )
    StateLicence.objects.update_or_create(
        profile=profile, state="NY", defaults={"number": f"{200000 + n}", "expires_on": licence_expires or next_year}
    )
    # By default a closed, inactive site of its own: it appears in no calendar or location list.
    register(profile, location or LocationFactory(hours=[], active=False), expires_on=dea_expires or next_year)
    return profile


def prescriber(**kwargs):
    """A physician in the Prescriber role with current credentials (``UserFactory`` kwargs)."""
    from accounts.roles import Role
    from accounts.tests.factories import UserFactory

    user = UserFactory(role=Role.PRESCRIBER, **{"credentials": "MD", **kwargs})
    credentialed(user)
    return user


def register(profile: PrescriberProfile, location, *, expires_on: date | None = None) -> DEARegistration:
    """A DEA registration for ``profile`` at ``location`` (e.g. the session's clinic)."""
    letter = "M" if profile.credential in rules.MID_LEVEL_CREDENTIALS else "A"
    row, _ = DEARegistration.objects.update_or_create(
        profile=profile,
        location=location,
        defaults={
            "number": valid_dea(next(_SERIAL), letter=letter),
            "expires_on": expires_on or timezone.localdate() + timedelta(days=365),
        },
    )
    return row
