from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse


@pytest.mark.django_db
def test_an_idle_session_expires_after_the_configured_minutes(client, clinician, settings):
    with time_machine.travel("2026-03-02 09:00 +0000", tick=False) as clock:
        client.force_login(clinician)
        assert client.get(reverse("home")).status_code == 200
        clock.shift(timedelta(minutes=settings.SESSION_IDLE_MINUTES - 1))
        assert client.get(reverse("home")).status_code == 200  # activity renews the idle timer
        clock.shift(timedelta(minutes=settings.SESSION_IDLE_MINUTES + 1))
        response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.django_db
def test_an_active_session_still_ends_at_its_absolute_lifetime(client, clinician, settings):
    with time_machine.travel("2026-03-02 07:00 +0000", tick=False) as clock:
        client.force_login(clinician)
        client.get(reverse("home"))
        for _ in range(settings.SESSION_ABSOLUTE_HOURS * 6 + 2):  # a request every 10 minutes
            clock.shift(timedelta(minutes=10))
            response = client.get(reverse("home"))
            if response.status_code == 302:
                break
    assert response.status_code == 302
    assert "expired=1" in response["Location"]


@pytest.mark.django_db
def test_signing_out_is_post_only_and_ends_the_session(client, clinician):
    client.force_login(clinician)
    assert client.get(reverse("accounts:logout")).status_code == 405
    client.post(reverse("accounts:logout"))
    assert client.get(reverse("home")).status_code == 302


@pytest.mark.django_db
def test_background_polls_do_not_keep_an_idle_station_signed_in_on_the_home_page(client, frontdesk, settings):
    """The front desk's home panel refreshes every 30 s; at the idle time the refresh answers the
    signed-out state and the session is gone."""
    panel = reverse("infusions:front-desk-home")
    poll = {"HTTP_HX_REQUEST": "true", "HTTP_X_BACKGROUND_POLL": "1"}
    with time_machine.travel("2026-03-02 09:00 +0000", tick=False) as clock:
        client.force_login(frontdesk)
        home = client.get(reverse("home")).content.decode()
        assert 'hx-headers=\'{"X-Background-Poll": "1"}\'' in home
        for _ in range(settings.SESSION_IDLE_MINUTES * 2):
            clock.shift(timedelta(seconds=30))
            assert client.get(panel, **poll).status_code == 200
        clock.shift(timedelta(seconds=30))
        locked = client.get(panel, **poll)
    assert locked.status_code == 286
    assert locked["HX-Redirect"] == f"{reverse('accounts:login')}?expired=1"
    assert "Sign in again" in locked.content.decode()
    assert client.get(reverse("home")).status_code == 302
