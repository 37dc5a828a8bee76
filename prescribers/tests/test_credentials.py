"""A prescriber acts only with a current licence and DEA registration; the admin form checks
the identifiers with the pure rules and shows each refusal at its field."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from accounts.prescribing import PrescriberRequired
from consultations.tests.factories import plan_for, signed_consultation
from prescribers.forms import DEARegistrationForm, PrescriberProfileForm, StateLicenceForm
from prescribers.models import PrescriberProfile
from prescribers.tests.factories import credentialed

pytestmark = pytest.mark.django_db


def test_a_prescriber_with_current_credentials_writes_a_plan(clinician):
    consultation = signed_consultation(by=clinician)
    assert plan_for(consultation, by=clinician).pk


def test_an_expired_licence_blocks_the_prescribers_decision_with_the_date(clinician):
    consultation = signed_consultation(by=clinician)
    yesterday = timezone.localdate() - timedelta(days=1)
    credentialed(clinician, licence_expires=yesterday)
    with pytest.raises(PrescriberRequired, match=f"licence .* expired on {yesterday:%d %b %Y}"):
        plan_for(consultation, by=clinician)


def test_the_licence_is_valid_through_its_expiry_day_and_not_after(clinician):
    consultation = signed_consultation(by=clinician)
    clinic = ZoneInfo(timezone.get_current_timezone_name())
    credentialed(clinician, licence_expires=date(2031, 3, 31), dea_expires=date(2032, 1, 31))
    with time_machine.travel(datetime(2031, 3, 31, 23, 0, tzinfo=clinic), tick=False):
        assert plan_for(consultation, by=clinician).pk
    with (
        time_machine.travel(datetime(2031, 4, 1, 0, 30, tzinfo=clinic), tick=False),
        pytest.raises(PrescriberRequired, match="expired on 31 Mar 2031"),
    ):
        plan_for(signed_consultation(by=clinician), by=clinician)


def test_an_expired_dea_registration_blocks_the_prescribers_decision(clinician):
    consultation = signed_consultation(by=clinician)
    clinician.prescriber_profile.registrations.update(expires_on=timezone.localdate() - timedelta(days=3))
    with pytest.raises(PrescriberRequired, match="DEA registration .* expired"):
        plan_for(consultation, by=clinician)


def test_a_prescriber_with_no_credentials_on_file_is_told_to_ask_an_administrator(clinician):
    consultation = signed_consultation(by=clinician)
    PrescriberProfile.objects.filter(user=clinician).delete()
    with pytest.raises(PrescriberRequired, match="No prescriber credentials .* ask an administrator"):
        plan_for(consultation, by=clinician)


@pytest.mark.parametrize(
    ("form_class", "data", "field", "words"),
    [
        (PrescriberProfileForm, {"credential": "MD", "npi": "1234567890"}, "npi", "check digit"),
        (PrescriberProfileForm, {"credential": "RN", "npi": "1234567893"}, "credential", "valid choice"),
        (StateLicenceForm, {"state": "XX", "number": "123456", "expires_on": "2030-01-01"}, "state", "two-letter"),
        (DEARegistrationForm, {"number": "AB1234564", "expires_on": "2030-01-01"}, "number", "check digit"),
    ],
)
def test_the_admin_forms_refuse_a_bad_identifier_at_its_field(form_class, data, field, words, nurse):
    if form_class is PrescriberProfileForm:
        data = {**data, "user": nurse.pk}
    if form_class is DEARegistrationForm:
        from scheduling.tests.factories import LocationFactory

        data = {**data, "location": LocationFactory().pk}
    form = form_class(data=data)
    assert not form.is_valid()
    assert words in " ".join(form.errors[field])
    assert form.data == data  # what was typed is kept for the page
