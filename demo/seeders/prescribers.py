"""The prescribers' credentials: an NPI, a New York licence and a DEA registration at every
demo location, valid for two more years (synthetic numbers that pass the check digits)."""

from __future__ import annotations

from datetime import timedelta

from demo.context import SeedContext
from prescribers import rules
from prescribers.models import DEARegistration, PrescriberProfile, StateLicence
from scheduling.models import Location

# username, NPI's first nine digits, DEA's six digits, medical director
PRESCRIBERS = [
    ("clinician", "199999998", "613579", True),
    ("dr.chen", "154637281", "246810", False),
]


def _npi(nine: str) -> str:
    return next(nine + str(d) for d in range(10) if rules.luhn_valid(rules.NPI_LUHN_PREFIX + nine + str(d)))


def seed(ctx: SeedContext) -> None:
    until = ctx.today + timedelta(days=730)
    locations = list(Location.objects.order_by("pk"))
    for username, nine, six, director in PRESCRIBERS:
        user = ctx.staff.get(username)
        if user is None:
            continue
        profile, _ = PrescriberProfile.objects.update_or_create(
            user=user, defaults={"credential": "MD", "npi": _npi(nine), "medical_director": director}
        )
        StateLicence.objects.update_or_create(
            profile=profile, state="NY", defaults={"number": f"{nine[:6]}", "expires_on": until}
        )
        initial = (user.last_name[:1] or "9").upper()
        for location in locations:
            DEARegistration.objects.update_or_create(
                profile=profile,
                location=location,
                defaults={"number": f"A{initial}{six}{rules.dea_check_digit(six)}", "expires_on": until},
            )
