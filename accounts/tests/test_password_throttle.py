"""Every password check (sign-in, break-glass re-entry, a ledger witness, a password change) goes
through one throttle keyed on the account and counted before the password is evaluated: past the
limit even the right password is refused until the window passes, and a burst of guesses sent at
once evaluates no more than the limit."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from accounts.tests.factories import UserFactory

PASSWORD = "correct horse battery staple"
GUESSES = 12


@pytest.fixture
def evaluated(monkeypatch):
    """How many times a password was actually compared (thread-safe)."""
    calls = []
    lock = threading.Lock()
    original = User.check_password

    def counting(self, raw_password):
        with lock:
            calls.append(self.pk)
        return original(self, raw_password)

    monkeypatch.setattr(User, "check_password", counting)
    return calls


def _sign_in(client, username, password, ip):
    return client.post(reverse("accounts:login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.django_db
def test_password_checks_bypassing_the_lockout_sign_in_from_many_addresses(client, settings):
    """Guesses spread over addresses (each under django-axes' per-address limit) still lock the account."""
    UserFactory(username="nurse", password=PASSWORD, role=Role.NURSE)
    for n in range(GUESSES):
        _sign_in(client, "nurse", f"guess-{n}", ip=f"198.51.100.{n + 1}")
    refused = _sign_in(client, "nurse", PASSWORD, ip="198.51.100.200")
    assert refused.status_code == 200
    assert "After repeated wrong passwords an account refuses every password for a while" in refused.content.decode()
    assert "_auth_user_id" not in client.session
    with time_machine.travel(timezone.now() + timedelta(minutes=settings.PASSWORD_CHECK_WINDOW_MINUTES, seconds=1)):
        assert _sign_in(client, "nurse", PASSWORD, ip="198.51.100.200").status_code == 302


@pytest.mark.django_db
def test_password_checks_bypassing_the_lockout_break_glass_re_entry(client, frontdesk, patient, evaluated, settings):
    frontdesk.set_password(PASSWORD)
    frontdesk.save(update_fields=["password"])
    client.force_login(frontdesk)
    url = reverse("patients:emergency-access", args=[patient.pk])
    reason = "Collapsed in the waiting room; paramedics ask for medications."
    for n in range(GUESSES):
        client.post(url, {"reason": reason, "password": f"guess-{n}"})
    response = client.post(url, {"reason": reason, "password": PASSWORD})
    assert response.status_code == 200
    assert "Too many wrong passwords for this account" in response.content.decode()
    assert "emergency_access" not in client.session
    assert len(evaluated) == settings.PASSWORD_CHECK_LIMIT
    with time_machine.travel(timezone.now() + timedelta(minutes=settings.PASSWORD_CHECK_WINDOW_MINUTES, seconds=1)):
        assert client.post(url, {"reason": reason, "password": PASSWORD}).status_code == 302


@pytest.mark.django_db
def test_password_checks_bypassing_the_lockout_password_change(client, nurse, settings):
    nurse.set_password(PASSWORD)
    nurse.save(update_fields=["password"])
    client.force_login(nurse)
    url = reverse("accounts:password-change")
    new = {"new_password1": "another long passphrase 7", "new_password2": "another long passphrase 7"}
    for n in range(settings.PASSWORD_CHECK_LIMIT):
        client.post(url, {"old_password": f"guess-{n}", **new})
    response = client.post(url, {"old_password": PASSWORD, **new})
    assert response.status_code == 200
    assert "Too many wrong passwords for this account" in response.content.decode()
    nurse.refresh_from_db()
    assert nurse.check_password(PASSWORD)


@pytest.mark.django_db
def test_password_checks_bypassing_the_lockout_are_one_count_across_forms(client, frontdesk, patient, settings):
    """Wrong break-glass passwords count against the same account's sign-in."""
    frontdesk.set_password(PASSWORD)
    frontdesk.save(update_fields=["password"])
    client.force_login(frontdesk)
    url = reverse("patients:emergency-access", args=[patient.pk])
    for n in range(settings.PASSWORD_CHECK_LIMIT):
        client.post(url, {"reason": "Collapsed in the waiting room.", "password": f"guess-{n}"})
    client.post(reverse("accounts:logout"))
    assert _sign_in(client, frontdesk.username, PASSWORD, ip="10.0.0.7").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_password_checks_bypassing_the_lockout_concurrent_witness_guesses(evaluated, settings):
    """Twelve wrong witness passwords sent at once: at most the limit are evaluated, then even the
    right one is refused."""
    from controlled_substances.services import LedgerError, witness_confirm
    from controlled_substances.tests.factories import nurse

    recorder = nurse(username="rn.recorder")
    witness = nurse(username="rn.witness", password=PASSWORD)
    start = threading.Barrier(GUESSES)
    outcomes = []

    def guess(n):
        try:
            start.wait()
            witness_confirm(witness=User.objects.get(pk=witness.pk), password=f"guess-{n}", by=recorder)
        except LedgerError as exc:
            outcomes.append(str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(GUESSES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == GUESSES
    assert len(evaluated) <= settings.PASSWORD_CHECK_LIMIT
    assert sum("Too many wrong passwords" in o for o in outcomes) >= GUESSES - settings.PASSWORD_CHECK_LIMIT
    with pytest.raises(LedgerError, match="Too many wrong passwords"):
        witness_confirm(witness=witness, password=PASSWORD, by=recorder)
