"""Who may be the dose's second clinician is clinic policy: a nurse by default; where the
clinic has a prescriber verify every dose, a nurse (or a prescriber whose credentials are not
current for the clinic) is refused by the service and not offered the button."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.prescribing import PrescriberRequired
from infusions import services
from infusions.models import DoseCalculation
from infusions.tests.factories import set_policy
from prescribers.tests.factories import register

pytestmark = pytest.mark.django_db


@pytest.fixture
def calculated(prechecked, nurse_user):
    return services.dose_calculate(
        session=prechecked, by=nurse_user, vial_mg_per_ml=Decimal("10"), diluent_ml=Decimal("96")
    )


def test_by_default_a_second_nurse_verifies(calculated, verifier):
    row = services.dose_verify(calculation=calculated, by=verifier, fingerprint=calculated.fingerprint)
    assert row.verified_by == verifier


def test_where_a_prescriber_must_verify_a_nurse_is_refused_and_nothing_is_written(calculated, verifier):
    set_policy(nurse_may_verify_dose=False)
    with pytest.raises(PrescriberRequired, match="this clinic's policy has a prescriber verify it"):
        services.dose_verify(calculation=calculated, by=verifier, fingerprint=calculated.fingerprint)
    assert DoseCalculation.objects.get(pk=calculated.pk).verified_by is None


def test_where_a_prescriber_must_verify_one_registered_at_the_clinic_may(calculated, clinician):
    set_policy(nurse_may_verify_dose=False)
    with pytest.raises(PrescriberRequired, match="DEA registration"):  # none for this clinic yet
        services.dose_verify(calculation=calculated, by=clinician, fingerprint=calculated.fingerprint)
    register(clinician.prescriber_profile, calculated.session.appointment.location)
    row = services.dose_verify(calculation=calculated, by=clinician, fingerprint=calculated.fingerprint)
    assert row.verified_by == clinician


def test_the_page_offers_the_button_only_to_whom_the_policy_allows(client_as, calculated, verifier, clinician):
    url = reverse("infusions:session", args=[calculated.session_id])
    assert "I independently verified this dose" in client_as(verifier).get(url).content.decode()
    set_policy(nurse_may_verify_dose=False)
    html = client_as(verifier).get(url).content.decode()
    assert "I independently verified this dose" not in html
    assert "a prescriber (clinic policy)" in html
    register(clinician.prescriber_profile, calculated.session.appointment.location)
    assert "I independently verified this dose" in client_as(clinician).get(url).content.decode()
    # A forged POST from the nurse comes back on the page with the reason, not a bare 403.
    response = client_as(verifier).post(
        reverse("infusions:dose-verify", args=[calculated.session_id, calculated.pk]),
        {"fingerprint": calculated.fingerprint},
    )
    assert response.status_code == 200
    assert "this clinic&#x27;s policy has a prescriber verify it" in response.content.decode()
