import hashlib
import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AuditEvent, RecoveryCode


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
def test_front_desk_signs_in_with_a_second_factor_too_when_it_is_required(client, frontdesk, otp_required):
    client.force_login(frontdesk)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:two-factor")


@pytest.mark.django_db
def test_an_account_given_permissions_outside_any_role_needs_a_second_factor_too(
    client, outsider, patient, otp_required
):
    """An administrator can tick permissions on a user without a role group: the password alone
    must not open what they give."""
    outsider.user_permissions.add(Permission.objects.get(codename="view_patient", content_type__app_label="patients"))
    client.force_login(outsider)
    response = client.get(reverse("patients:detail", args=[patient.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:two-factor")


@pytest.mark.django_db
def test_enrolment_then_verification_opens_the_app_and_a_code_cannot_be_replayed(client, clinician, otp_required):
    client.force_login(clinician)
    page = client.get(reverse("accounts:two-factor"))
    assert "Set up two-factor sign-in" in page.content.decode()
    device = TOTPDevice.objects.get(user=clinician)
    code = _code(device)
    assert "Save your recovery codes" in client.post(reverse("accounts:two-factor"), {"token": code}).content.decode()
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
    assert "Enter the six digits shown in your authenticator app, or one of your recovery codes" in body
    assert 'value="abc&lt;b&gt;"' in body  # what was typed is kept, as text


def _enrol(client, user) -> list[str]:
    """Sign in, enrol an app; returns the recovery codes shown once on the confirmation page."""
    client.force_login(user)
    client.get(reverse("accounts:two-factor"))
    page = client.post(reverse("accounts:two-factor"), {"token": _code(TOTPDevice.objects.get(user=user))})
    return re.findall(r">([a-z2-7]{4})-([a-z2-7]{4})-([a-z2-7]{4})-([a-z2-7]{4})<", page.content.decode())


def _new_sign_in(client, user):
    client.post(reverse("accounts:logout"))
    client.force_login(user)


@pytest.mark.django_db
def test_enrolment_shows_ten_recovery_codes_and_each_signs_in_once(client, clinician, otp_required):
    codes = _enrol(client, clinician)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    first = "-".join(codes[0]).upper()  # typed as shown, in capitals: still accepted

    _new_sign_in(client, clinician)
    response = client.post(reverse("accounts:two-factor"), {"token": first}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("home")
    assert "You signed in with a recovery code; 9 left" in response.content.decode()
    assert AuditEvent.objects.filter(action="accounts.two_factor.recovery_code_used", actor=clinician).exists()

    _new_sign_in(client, clinician)
    again = client.post(reverse("accounts:two-factor"), {"token": first})
    assert "not valid or was already used" in again.content.decode()
    assert client.get(reverse("home"))["Location"] == reverse("accounts:two-factor")


@pytest.mark.django_db
def test_a_recovery_code_cannot_finish_enrolling_a_new_app(client, clinician, otp_required):
    codes = _enrol(client, clinician)
    client.post(reverse("accounts:security"), {"action": "replace_app"})
    assert not TOTPDevice.objects.filter(user=clinician, confirmed=True).exists()
    response = client.post(reverse("accounts:two-factor"), {"token": "".join(codes[1])})
    assert "Type the six digits your new authenticator app shows" in response.content.decode()
    assert RecoveryCode.objects.filter(device__user=clinician).count() == 10  # nothing used up


@pytest.mark.django_db
def test_changing_second_factors_needs_a_verified_session(client, clinician, otp_required):
    _enrol(client, clinician)
    _new_sign_in(client, clinician)
    response = client.post(reverse("accounts:security"), {"action": "recovery_codes"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:two-factor"))
    assert RecoveryCode.objects.filter(device__user=clinician).count() == 10


@pytest.mark.django_db
def test_new_recovery_codes_replace_the_old_ones(client, clinician, otp_required, django_assert_max_num_queries):
    old = _enrol(client, clinician)
    with django_assert_max_num_queries(12):  # session, user, OTP device, perms, role, app, codes, passkeys, nav, save
        page = client.get(reverse("accounts:security")).content.decode()
    assert "10</strong> unused codes left" in page
    new = re.findall(
        r">([a-z2-7]{4})-([a-z2-7]{4})-([a-z2-7]{4})-([a-z2-7]{4})<",
        client.post(reverse("accounts:security"), {"action": "recovery_codes"}).content.decode(),
    )
    assert len(new) == 10
    assert not set(old) & set(new)
    _new_sign_in(client, clinician)
    refused = client.post(reverse("accounts:two-factor"), {"token": "".join(old[0])})
    assert "not valid or was already used" in refused.content.decode()
    with time_machine.travel(timezone.now() + timedelta(seconds=5)):  # past the wrong guess's throttle
        assert client.post(reverse("accounts:two-factor"), {"token": "".join(new[0])}).status_code == 302


@pytest.mark.django_db
def test_replacing_the_app_stops_the_old_one_at_once_and_ends_other_sessions(client, clinician, otp_required):
    _enrol(client, clinician)
    elsewhere = Client()
    elsewhere.force_login(clinician)
    old_device = TOTPDevice.objects.get(user=clinician)
    response = client.post(reverse("accounts:security"), {"action": "replace_app"})
    assert response["Location"].startswith(reverse("accounts:two-factor"))
    assert not TOTPDevice.objects.filter(pk=old_device.pk).exists()
    assert client.get(reverse("home"))["Location"] == reverse("accounts:two-factor")  # not verified any more
    assert "Set up two-factor sign-in" in client.get(reverse("accounts:two-factor")).content.decode()
    assert "/accounts/login/" in elsewhere.get(reverse("accounts:two-factor"))["Location"]


@pytest.mark.django_db
def test_after_the_second_factor_only_a_local_next_is_followed(client, clinician, otp_required):
    client.force_login(clinician)
    client.get(reverse("accounts:two-factor"))
    device = TOTPDevice.objects.get(user=clinician)
    device.confirmed = True
    device.save()
    url = reverse("accounts:two-factor") + "?next=https://evil.example/phish"
    assert client.post(url, {"token": _code(device)})["Location"] == reverse("home")


@pytest.mark.django_db
def test_an_administrator_resets_a_colleagues_lost_second_factors_with_a_reason(client, clinician, admin):
    _enrol(client, clinician)
    their_session = Client()
    their_session.force_login(clinician)  # e.g. left open on a ward computer, or stolen
    url = reverse("accounts:two-factor-reset", args=[clinician.pk])
    client.force_login(admin)
    assert url in client.get(reverse("admin:accounts_user_change", args=[clinician.pk])).content.decode()
    assert "recovery codes left: 10" in client.get(url).content.decode()

    missing = client.post(url, {"reason": "  "})
    assert "This field is required." in missing.content.decode()
    assert TOTPDevice.objects.filter(user=clinician).exists()

    done = client.post(url, {"reason": "Lost phone; identity confirmed in person."}, follow=True)
    assert "Two-factor sign-in reset for" in done.content.decode()
    assert not TOTPDevice.objects.filter(user=clinician).exists()
    assert not StaticDevice.objects.filter(user=clinician).exists()
    event = AuditEvent.objects.get(action="accounts.two_factor.reset")
    assert event.actor == admin
    assert "identity confirmed in person" in str(event.changes)
    assert event.changes["sessions_ended"] >= 1
    assert "/accounts/login/" in their_session.get(reverse("home"))["Location"]


@pytest.mark.django_db
def test_an_administrator_cannot_reset_their_own_second_factor(client, admin):
    client.force_login(admin)
    response = client.post(reverse("accounts:two-factor-reset", args=[admin.pk]), {"reason": "mine"})
    assert "Another administrator must reset your own" in response.content.decode()
    assert not AuditEvent.objects.filter(action="accounts.two_factor.reset").exists()


@pytest.mark.django_db
def test_recovery_codes_stored_hashed_never_in_clear(client, clinician, otp_required):
    """Neither the database nor an administrator's screen holds a code that signs in."""
    codes = ["".join(groups) for groups in _enrol(client, clinician)]
    stored = set(RecoveryCode.objects.filter(device__user=clinician).values_list("code_sha256", flat=True))
    assert len(stored) == 10
    assert not StaticToken.objects.filter(device__user=clinician).exists()
    assert not stored & set(codes)
    assert stored == {hashlib.sha256(code.encode()).hexdigest() for code in codes}
    assert all(len(code) == 16 for code in codes)  # 80 random bits each: a fast hash cannot be searched


@pytest.mark.django_db
def test_recovery_codes_stored_hashed_codes_issued_in_clear_before_keep_working_once(client, clinician, otp_required):
    """A code issued before hashing (a clear static token, moved by the migration) still signs in once."""
    from importlib import import_module

    hash_clear_codes = import_module("accounts.migrations.0008_recovery_codes_hashed").hash_clear_codes
    _enrol(client, clinician)
    device = StaticDevice.objects.get(user=clinician)
    device.recovery_codes.all().delete()
    StaticToken.objects.create(device=device, token="abcd2345")
    from django.apps import apps

    hash_clear_codes(apps, None)
    assert not StaticToken.objects.exists()
    _new_sign_in(client, clinician)
    assert client.post(reverse("accounts:two-factor"), {"token": "ABCD-2345"}).status_code == 302
    _new_sign_in(client, clinician)
    with time_machine.travel(timezone.now() + timedelta(seconds=5)):
        assert (
            "not valid or was already used"
            in client.post(reverse("accounts:two-factor"), {"token": "abcd2345"}).content.decode()
        )
