import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice


def _code(device, offset=0):
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset):06d}"


@pytest.fixture
def otp_required(settings):
    settings.OTP_REQUIRED = True


@pytest.mark.django_db
def test_a_clinician_without_a_second_factor_reaches_no_page(client, clinician, patient, otp_required):
    client.force_login(clinician)
    for url in (reverse("home"), reverse("patients:list"), reverse("patients:detail", args=[patient.pk])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == reverse("accounts:two-factor")


@pytest.mark.django_db
def test_front_desk_is_not_asked_for_a_second_factor(client, frontdesk, otp_required):
    client.force_login(frontdesk)
    assert client.get(reverse("home")).status_code == 200


@pytest.mark.django_db
def test_enrolment_then_verification_opens_the_app_and_a_code_cannot_be_replayed(client, clinician, otp_required):
    client.force_login(clinician)
    page = client.get(reverse("accounts:two-factor"))
    assert "Set up two-factor sign-in" in page.content.decode()
    device = TOTPDevice.objects.get(user=clinician)
    code = _code(device)
    assert client.post(reverse("accounts:two-factor"), {"token": code}).status_code == 302
    assert client.get(reverse("home")).status_code == 200

    client.post(reverse("accounts:logout"))
    client.force_login(clinician)
    replay = client.post(reverse("accounts:two-factor"), {"token": code})
    assert replay.status_code == 200
    assert "not valid or was already used" in replay.content.decode()
    assert client.get(reverse("home"))["Location"] == reverse("accounts:two-factor")


@pytest.mark.django_db
def test_a_non_numeric_code_is_refused_at_the_field(client, clinician, otp_required):
    client.force_login(clinician)
    response = client.post(reverse("accounts:two-factor"), {"token": "abc<b>"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Enter the six digits" in body
    assert 'value="abc&lt;b&gt;"' in body  # what was typed is kept, as text
