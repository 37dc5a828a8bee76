"""Every report, and every page of the ketamine ledger, of a user scoped to one location counts that
location's data only, and a chain-wide user's counts every location's.

The demo clinic (two locations, a year and a half of visits, infusions, ledgers, invoices and
inquiries) is seeded once for the module, inside a transaction rolled back at its end. For each
report: the scoped user's tables are exactly the chain-wide user's tables filtered to that location,
and every table filtered to that location differs from the whole chain's (so each table counts the
other location's data, and the location filter takes it out: none ignores the location).
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from reports.registry import REPORTS
from scheduling.models import Location, StaffLocation

pytestmark = pytest.mark.django_db

HERE = "Grace MindCare Brooklyn Heights"  # the smaller of the demo's two locations


@pytest.fixture(scope="module")
def chain(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", patients=40, seed=2026, stdout=io.StringIO())
        _open_package_and_late_draft_at_every_location()
        here = Location.objects.get(name=HERE)
        elsewhere = list(Location.objects.exclude(pk=here.pk))
        chain_wide = UserFactory(username="chain.admin", role=Role.ADMINISTRATOR)
        scoped = UserFactory(username="here.admin", role=Role.ADMINISTRATOR, chain_wide=False)
        StaffLocation.objects.create(user=scoped, location=here)
        yield {"here": here, "elsewhere": elsewhere, "chain_wide": chain_wide, "scoped": scoped}
        transaction.set_rollback(True)


def _open_package_and_late_draft_at_every_location() -> None:
    """What the demo may leave out (it seeds from the reference data the database holds): an open
    package, an intake left unsigned past the policy's days, an amended intake and a disclosed
    summary, at each location."""
    from billing import services as billing_services
    from billing.tests.factories import key, plan
    from consultations.models import Amendment, Consultation
    from consultations.tests.factories import ConsultationFactory, signed_record
    from demo.seeders.scheduling import SITES
    from documents import services as document_services
    from documents.models import Disclosure, DocumentKind
    from patients.tests.factories import PatientFactory
    from scheduling.models import PatientLocation
    from scheduling.tests.factories import AppointmentFactory, ResourceFactory, appointment_type

    long_ago = timezone.now() - timedelta(days=30)
    for site in Location.objects.filter(name__in=[name for name, *_ in SITES]):  # the demo's own
        # The demo books its visits into the free cells of the calendar around today, so on some days
        # a small seed leaves a site without a patient: one is registered there then (the visits
        # below place them at the site).
        placed = PatientLocation.objects.filter(location=site).select_related("patient").first()
        patient = placed.patient if placed is not None else PatientFactory()
        billing_services.package_sell(patient=patient, plan=plan(site), method="cash", idempotency_key=key(), by=None)
        room = ResourceFactory(location=site, kind="room", name="Scope test room")  # the demo's are "Chair 1"…
        visit = AppointmentFactory(
            patient=patient,
            resource=room,
            location=site,
            appointment_type=appointment_type("consultation"),
            start=long_ago,
            end=long_ago + timedelta(hours=1),
        )
        draft = ConsultationFactory(patient=patient, appointment=visit)
        Consultation.objects.filter(pk=draft.pk).update(created_at=long_ago)
        earlier = long_ago - timedelta(days=1)
        intake = AppointmentFactory(
            patient=patient,
            location=site,
            appointment_type=appointment_type("consultation"),
            start=earlier,
            end=earlier + timedelta(hours=1),
            resource=room,
        )
        signed = signed_record(patient=patient, appointment=intake)
        # Written as the service writes it (the service's own transaction must be the outermost).
        Amendment.objects.create(
            consultation=signed,
            author=signed.clinician,
            at=timezone.now(),
            kind="appends",
            section="medications",
            reason="Patient remembered a supplement",
            text="Also takes vitamin D.",
        )
        summary = document_services.issue(kind=DocumentKind.CONSULTATION_SUMMARY, subject=signed, by=signed.signed_by)
        Disclosure.objects.create(
            document=summary,
            patient_id=signed.patient_id,
            at=timezone.now(),
            by=signed.signed_by,
            recipient="The patient",
            purpose=Disclosure.Purpose.PATIENT_COPY,
            pdf_sha256="0" * 64,
        )


def _period() -> dict[str, str]:
    today = timezone.localdate()
    return {"start": (today - timedelta(days=600)).isoformat(), "end": (today + timedelta(days=60)).isoformat()}


def _tables(client, user, slug, **params) -> dict[str, list[list[object]]]:
    client.force_login(user)
    response = client.get(reverse(f"reports:{slug}"), {**_period(), **params})
    assert response.status_code == 200, (slug, response.context["form"].errors)
    return {section.key: section.cells() for section in response.context["sections"]}


@pytest.mark.parametrize("slug", [r.slug for r in REPORTS])
def test_every_report_of_a_scoped_user_counts_their_location_only(client, chain, slug):
    here = chain["here"]
    assert chain["scoped"].has_perm(f"{next(r for r in REPORTS if r.slug == slug).permission}")
    scoped = _tables(client, chain["scoped"], slug)
    at_here = _tables(client, chain["chain_wide"], slug, location=here.pk)
    everywhere = _tables(client, chain["chain_wide"], slug)
    assert scoped == at_here
    for key, rows in at_here.items():
        assert rows != everywhere[key], f"{slug}: the {key} table counts the same with and without the location"
    # Naming another location in the address is refused at the field, and shows nothing.
    client.force_login(chain["scoped"])
    refused = client.get(reverse(f"reports:{slug}"), {**_period(), "location": chain["elsewhere"][0].pk})
    assert refused.status_code == 400
    assert refused.context["sections"] == []


LEDGER_PAGES = [
    ("controlled_substances:index", {}),
    ("controlled_substances:counts", {}),
    ("controlled_substances:report-balances", {}),
    ("controlled_substances:report-dispensing", {}),
    ("controlled_substances:report-waste", {}),
    ("controlled_substances:report-discrepancies", {}),
]


def _names_of(location) -> list[str]:
    """What names a location's ledger on a page: its DEA number and its vials' codes."""
    from controlled_substances.models import Container, Registration

    registrations = Registration.objects.filter(location=location)
    codes = Container.objects.filter(registration__in=registrations).values_list("code", flat=True)
    return [*registrations.values_list("dea_number", flat=True), *codes]


@pytest.mark.parametrize(("name", "params"), LEDGER_PAGES, ids=[n for n, _ in LEDGER_PAGES])
def test_every_ledger_page_of_a_scoped_user_shows_their_location_only(client, chain, name, params):
    from controlled_substances.models import Registration

    client.force_login(chain["scoped"])
    page = client.get(reverse(name), params)
    assert page.status_code == 200
    text = page.content.decode()
    elsewhere = [n for loc in chain["elsewhere"] for n in _names_of(loc)]
    assert elsewhere, "the demo keeps a ledger at the other location"
    assert not [n for n in elsewhere if n in text]
    # A chain-wide manager reads the other location's ledger on the same page.
    client.force_login(chain["chain_wide"])
    theirs = Registration.objects.filter(location__in=chain["elsewhere"]).first()
    wide = client.get(reverse(name), {**params, "registration": theirs.pk}).content.decode()
    assert [n for n in elsewhere if n in wide]
