"""Synthetic patients (Faker; no real person's data), inserted in bulk.

Also a few near-duplicate pairs (to demonstrate the duplicate warning) and
some contact log entries.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.postgres.indexes import GinIndex
from django.db import connection
from django.utils import timezone

from demo.context import SeedContext
from patients.models import ConsentMethod, ContactLogEntry, Patient
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


def _accented(name: str) -> str:
    for plain, accented in (("e", "é"), ("a", "á"), ("o", "ó"), ("i", "í")):
        if plain in name[1:]:
            return name[0] + name[1:].replace(plain, accented, 1)
    return name + "é"


def _typo(name: str) -> str:
    return name[:-1] + ("a" if name.endswith("e") else "e")


# How the desk re-registers someone already on file; the last one is a
# different person (a relative) who shares the phone number.
NEAR_DUPLICATES = ("accent", "swapped", "typo", "shared_phone")


def _make_near_duplicates(batch: list[Patient]) -> int:
    """Turn a few pairs of the first batch into near-copies for the duplicate-warning demo."""
    pairs = 0
    for i, kind in enumerate(NEAR_DUPLICATES):
        original_index, copy_index = 20 * i, 20 * i + 1
        if copy_index >= len(batch):
            break
        original, copy = batch[original_index], batch[copy_index]
        copy.preferred_name = ""
        if kind == "shared_phone":
            copy.legal_last_name, copy.phone = original.legal_last_name, original.phone
        else:
            copy.legal_first_name, copy.legal_last_name = {
                "accent": (original.legal_first_name, _accented(original.legal_last_name)),
                "swapped": (original.legal_last_name, original.legal_first_name),
                "typo": (original.legal_first_name, _typo(original.legal_last_name)),
            }[kind]
            copy.date_of_birth = original.date_of_birth
        pairs += 1
    return pairs


CONTACT_NOTES = [
    (ContactLogEntry.Channel.PHONE, "out", "Called to confirm the intake consultation; confirmed."),
    (ContactLogEntry.Channel.PHONE, "out", "Left voicemail about next week's appointment."),
    (ContactLogEntry.Channel.PHONE, "in", "Asked to move Thursday's visit to the afternoon."),
    (ContactLogEntry.Channel.SMS, "out", "Texted parking directions for the new location."),
    (ContactLogEntry.Channel.EMAIL, "out", "Sent the intake forms link again; first e-mail not received."),
    (ContactLogEntry.Channel.IN_PERSON, "in", "Dropped off insurance card copy at the desk."),
    (ContactLogEntry.Channel.PHONE, "in", "Escort changed: spouse will drive on infusion days."),
]


def _contact_log(ctx: SeedContext) -> int:
    author = ctx.staff.get("frontdesk") or ctx.staff.get("nurse.okafor")
    now = timezone.now()
    entries = []
    for patient_id in ctx.patient_ids:
        if ctx.rng.random() >= 0.15:
            continue
        for _ in range(ctx.rng.randint(1, 3)):
            channel, direction, summary = ctx.rng.choice(CONTACT_NOTES)
            entries.append(
                ContactLogEntry(
                    patient_id=patient_id,
                    at=now - timedelta(days=ctx.rng.randint(0, 120), minutes=ctx.rng.randint(0, 600)),
                    by=author,
                    channel=channel,
                    direction=direction,
                    summary=summary,
                )
            )
    ContactLogEntry.objects.bulk_create(entries, batch_size=BATCH)
    return len(entries)


def seed(ctx: SeedContext) -> None:
    remaining = ctx.patients_wanted
    near_duplicates = 0
    while remaining > 0:
        size = min(BATCH, remaining)
        batch = [_patient(ctx, mrn) for mrn in _mrns(size)]
        if not ctx.patient_ids:
            near_duplicates = _make_near_duplicates(batch)
        created = Patient.objects.bulk_create(batch)
        ctx.patient_ids.extend(p.pk for p in created)
        remaining -= size
    ctx.counts["patients"] = ctx.patients_wanted
    ctx.counts["near-duplicate pairs"] = near_duplicates
    ctx.counts["contact log entries"] = _contact_log(ctx)
    _ready_for_search()


def _ready_for_search() -> None:
    """Merge the bulk insert into the search indexes and refresh the planner's statistics.

    Fresh GIN entries wait in a pending list that every search scans until
    autovacuum merges them: right after seeding 20,000 patients that made a
    name search 3x slower. (VACUUM cannot run inside the seeding transaction.)
    """
    gin = [index.name for index in Patient._meta.indexes if isinstance(index, GinIndex)]
    with connection.cursor() as cursor:
        for name in gin:
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [name])
        cursor.execute("ANALYZE patients_patient")
        cursor.execute("ANALYZE patients_contactlogentry")
