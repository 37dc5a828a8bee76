from datetime import date

import factory
from django.utils import timezone

from inquiries.models import Inquiry, InquiryContact


class InquiryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Inquiry

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    date_of_birth = date(1986, 4, 12)
    phone = factory.Sequence(lambda n: f"+1312555{n % 10000:04d}")
    email = factory.LazyAttribute(lambda i: f"{i.first_name}.{i.last_name}@example.org".lower())
    contact_by_phone = True
    contact_by_email = True
    reason = Inquiry.Reason.DEPRESSION
    submitted_at = factory.LazyFunction(timezone.now)


class InquiryContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InquiryContact

    inquiry = factory.SubFactory(InquiryFactory)
    at = factory.LazyFunction(timezone.now)
    channel = "phone"
    outcome = InquiryContact.Outcome.NO_ANSWER


def object_for_route(kwarg: str, patient) -> Inquiry:
    """An inquiry for the access table's routes (not yet linked to ``patient``), naming the first
    location where ``patient`` has care (none if they have none yet)."""
    from scheduling.models import PatientLocation

    site = PatientLocation.objects.filter(patient=patient).order_by("location_id").values_list("location", flat=True)
    return InquiryFactory(preferred_location_id=site.first())
