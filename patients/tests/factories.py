import factory
from django.db import connection
from django.utils import timezone

from patients.models import ContactLogEntry, Patient
from patients.rules import format_mrn


def _next_mrn(_):
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('patients_mrn_seq')")
        return format_mrn(cursor.fetchone()[0])


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    mrn = factory.LazyAttribute(_next_mrn)
    legal_first_name = factory.Faker("first_name")
    legal_last_name = factory.Faker("last_name")
    # Inside the intake's age window (adult, not above the default review age of 65), so
    # that a clean intake screens eligible; age tests set the date of birth.
    date_of_birth = factory.Faker("date_of_birth", minimum_age=19, maximum_age=64)
    phone = factory.Sequence(lambda n: f"+1212555{n % 10000:04d}")
    email = factory.LazyAttribute(lambda p: f"{p.legal_first_name}.{p.legal_last_name}@example.com".lower())


class ContactLogEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactLogEntry

    patient = factory.SubFactory(PatientFactory)
    at = factory.LazyFunction(timezone.now)
    channel = ContactLogEntry.Channel.PHONE
    direction = ContactLogEntry.Direction.OUTBOUND
    summary = factory.Sequence(lambda n: f"Called about appointment {n}.")
