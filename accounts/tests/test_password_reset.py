"""Password reset: the e-mail goes through the task queue, so the answer is the same (and as
quick) for an address with an account as for one without; requests are rate-limited per
address asked about and per client address."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts import tasks
from accounts.roles import Role
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    """The reset tasks enqueued (their keyword arguments), instead of a broker."""
    calls = []
    monkeypatch.setattr(tasks.send_password_reset, "delay", lambda **kwargs: calls.append(kwargs))
    return calls


def _ask(client, email, ip="198.51.100.7"):
    return client.post(reverse("accounts:password-reset"), {"email": email}, REMOTE_ADDR=ip)


def test_password_reset_goes_through_the_task_queue_and_answers_alike(
    client, queued, django_capture_on_commit_callbacks
):
    UserFactory(username="nurse", email="nurse@clinic.example", password="a long old passphrase 9", role=Role.NURSE)
    with django_capture_on_commit_callbacks(execute=True):
        known = _ask(client, "nurse@clinic.example")
        unknown = _ask(client, "nobody@clinic.example")
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert known["Location"] == reverse("accounts:password-reset-done")
    assert mail.outbox == []  # nothing was looked up or sent while the request waited
    assert [call["email"] for call in queued] == ["nurse@clinic.example", "nobody@clinic.example"]

    for call in queued:
        tasks.send_password_reset(**call)
    assert [message.to for message in mail.outbox] == [["nurse@clinic.example"]]
    link = re.search(r"https?://testserver(/accounts/password/reset/\S+)", mail.outbox[0].body).group(1)
    assert client.get(link, follow=True).status_code == 200


def test_password_reset_rate_limited_per_address(client, queued, settings, django_capture_on_commit_callbacks):
    """Asked from many computers, one colleague's inbox gets no more than the limit."""
    with django_capture_on_commit_callbacks(execute=True):
        answers = [_ask(client, "nurse@clinic.example", ip=f"198.51.100.{n}").status_code for n in range(1, 8)]
    assert set(answers) == {302}  # the answer never tells
    assert len(queued) == settings.PASSWORD_RESET_LIMIT_PER_ADDRESS


def test_password_reset_rate_limited_per_client(client, queued, settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(settings.PASSWORD_RESET_LIMIT_PER_CLIENT):
            assert _ask(client, f"person{n}@clinic.example").status_code == 302
        refused = _ask(client, "one.more@clinic.example")
    assert refused.status_code == 429
    body = refused.content.decode()
    assert "Too many reset requests from this computer" in body
    assert 'value="one.more@clinic.example"' in body  # what was typed is kept
    assert len(queued) == settings.PASSWORD_RESET_LIMIT_PER_CLIENT
    assert _ask(client, "one.more@clinic.example", ip="198.51.100.99").status_code == 302  # another computer
