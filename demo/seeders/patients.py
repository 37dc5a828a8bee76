"""Synthetic patients (Faker; no real person's data), inserted in bulk."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.utils import timezone

from demo.context import SeedContext
from patients.models import ConsentMethod, Patient
from patients.rules import format_mrn

BATCH = 2000
LANGUAGES = ["English"] * 17 + ["Spanish", "Spanish", "Vietnamese"]
RELATIONSHIPS = ["Spouse", "Partner", "Parent", "Sibling", "Friend", "Adult child"]
PRONOUNS = {"female": "she/her", "male": "he/him"}


def _phone(ctx: SeedContext) -> str:
    # 555-01xx numbers are reserved for fiction in North America.
    return f"+1{ctx.rng.choice(['212', '312', '415', '617', '646', '718'])}55501{ctx.rng.randint(0, 99):02d}"


def _patient(ctx: SeedContext, mrn: str) -> Patient:
    fake, rng = ctx.fake, ctx.rng
    sex = rng.choice(["female", "female", "male", "male", "intersex"])
    first = fake.first_name_female() if sex == "female" else fake.first_name_male()
    last = fake.last_name()
    sms, email = rng.random() < 0.7, rng.random() < 0.5
    consent_at = timezone.now() - timedelta(days=rng.randint(1, 540))
    return Patient(
        mrn=mrn,
        legal_first_name=first,
        legal_last_name=last,
        preferred_name=fake.first_name() if rng.random() < 0.08 else "",
        date_of_birth=fake.date_of_birth(minimum_age=19, maximum_age=80),
        sex_at_birth=sex,
        pronouns=PRONOUNS.get(sex, "they/them") if rng.random() < 0.6 else "",
        phone=_phone(ctx),
        email=f"{first}.{last}{rng.randint(1, 999)}@example.com".lower(),
        address_line1=fake.street_address(),
        city=fake.city(),
        state=fake.state_abbr(),
        postal_code=fake.zipcode(),
        preferred_language=rng.choice(LANGUAGES),
        emergency_contact_name=fake.name(),
        emergency_contact_phone=_phone(ctx),
        emergency_contact_relationship=rng.choice(RELATIONSHIPS),
        escort_name=fake.name() if rng.random() < 0.85 else "",
        escort_phone=_phone(ctx),
        escort_relationship=rng.choice(RELATIONSHIPS),
        referring_provider=f"Dr. {fake.last_name()}, {fake.city()} Psychiatry" if rng.random() < 0.6 else "",
        sms_opt_in=sms,
        sms_consent_at=consent_at if sms else None,
        sms_consent_method=ConsentMethod.WRITTEN if sms else "",
        email_opt_in=email,
        email_consent_at=consent_at if email else None,
        email_consent_method=ConsentMethod.WRITTEN if email else "",
        status=Patient.Status.DECEASED if rng.random() < 0.003 else Patient.Status.ACTIVE,
    )


def _mrns(count: int) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('patients_mrn_seq') FROM generate_series(1, %s)", [count])
        return [format_mrn(value) for (value,) in cursor.fetchall()]


def seed(ctx: SeedContext) -> None:
    remaining = ctx.patients_wanted
    while remaining > 0:
        size = min(BATCH, remaining)
        batch = [_patient(ctx, mrn) for mrn in _mrns(size)]
        created = Patient.objects.bulk_create(batch)
        ctx.patient_ids.extend(p.pk for p in created)
        remaining -= size
    ctx.counts["patients"] = ctx.patients_wanted
