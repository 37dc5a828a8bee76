"""Care-team pages: who sees what, and what each page costs in queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from care_team.tests.factories import ProviderFactory, adjunct_visit, authorised, draft_letter, member

pytestmark = pytest.mark.django_db


def test_the_directory_costs_the_same_queries_however_many_clinicians(client, frontdesk, django_assert_max_num_queries):
    ProviderFactory.create_batch(3)
    client.force_login(frontdesk)
    with django_assert_max_num_queries(12):
        small = client.get(reverse("care_team:directory"))
    ProviderFactory.create_batch(30)
    with django_assert_max_num_queries(12):
        large = client.get(reverse("care_team:directory"))
    assert small.status_code == large.status_code == 200
    assert "Page 1 of 2" in large.content.decode()


def test_the_directory_searches_and_hides_the_retired(client, nurse):
    kept = ProviderFactory(name="Dr Robin Okafor", practice="Harbour Counselling")
    ProviderFactory(name="Dr Someone Else")
    from care_team import services

    retired = services.provider_retire(provider=ProviderFactory(name="Dr Robin Retired"), by=nurse)
    client.force_login(nurse)
    page = client.get(reverse("care_team:directory"), {"q": "robin"}).content.decode()
    assert kept.name in page
    assert "Someone Else" not in page
    assert retired.name not in page
    page = client.get(reverse("care_team:directory"), {"q": "robin", "retired": "on"}).content.decode()
    assert retired.name in page


def test_an_npi_with_a_wrong_check_digit_is_refused(client, nurse):
    client.force_login(nurse)
    response = client.post(
        reverse("care_team:provider-new"), {"name": "Dr Typo", "role": "therapist", "npi": "1234567890"}
    )
    assert response.status_code == 400
    assert "check digit" in response.content.decode()


def test_the_front_desk_sees_the_names_never_the_letters(client, frontdesk, patient):
    authorisation = authorised(patient=patient)
    client.force_login(frontdesk)
    page = client.get(reverse("care_team:patient-panel", args=[patient.pk])).content.decode()
    assert authorisation.member.provider.name in page
    assert "Progress letters" not in page
    assert "Authorisation" not in page


def test_the_panel_costs_the_same_queries_however_big_the_team(
    client, clinician, patient, django_assert_max_num_queries
):
    authorised(patient=patient)
    adjunct_visit(patient=patient)
    client.force_login(clinician)
    url = reverse("care_team:patient-panel", args=[patient.pk])
    with django_assert_max_num_queries(16):
        assert client.get(url).status_code == 200
    for n in range(4):
        authorised(patient=patient)
        member(patient=patient, relationship="therapist")
        adjunct_visit(patient=patient, start=timezone.now() - timedelta(days=n + 1))
    with django_assert_max_num_queries(16):
        page = client.get(url)
    assert page.status_code == 200
    assert "Draft progress letter" in page.content.decode()


def test_the_letter_page_pins_its_queries(client, clinician, django_assert_max_num_queries):
    letter = draft_letter()
    client.force_login(clinician)
    with django_assert_max_num_queries(40):
        response = client.get(reverse("care_team:letter", args=[letter.pk]))
    assert response.status_code == 200
    assert "Sign and issue the letter" in response.content.decode()


def test_the_letters_to_sign_list_costs_the_same_however_many(client, clinician, django_assert_max_num_queries):
    draft_letter()
    client.force_login(clinician)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("care_team:letters")).status_code == 200
    draft_letter()
    draft_letter()
    with django_assert_max_num_queries(12):
        page = client.get(reverse("care_team:letters"))
    assert page.content.decode().count("Requested by the clinician") == 3


@pytest.mark.parametrize("hostile", ["0", "99999999999", "-1"])
def test_hostile_ids_answer_4xx(client, clinician, hostile):
    client.force_login(clinician)
    for name in ("care_team:letter", "care_team:adjunct-note"):
        path = reverse(name, args=[1]).replace("/1/", f"/{hostile}/")
        assert client.get(path).status_code in (403, 404)
    assert client.get(reverse("care_team:adjunct-book", args=[1]) + "?after=%C2%B2").status_code in (200, 403, 404)


def test_the_letters_to_sign_follow_the_clinicians_locations(client, clinician, scope_to):
    from patients.tests.factories import PatientFactory
    from scheduling.models import PatientLocation
    from scheduling.tests.factories import LocationFactory

    site = LocationFactory()
    ours, theirs = PatientFactory(), PatientFactory()
    PatientLocation.objects.create(patient=ours, location=site)
    mine, other = draft_letter(patient=ours), draft_letter(patient=theirs)
    client.force_login(scope_to(clinician, site))
    listed = [letter.pk for letter in client.get(reverse("care_team:letters")).context["page"].object_list]
    assert mine.pk in listed
    assert other.pk not in listed
