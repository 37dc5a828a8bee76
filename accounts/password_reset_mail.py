"""Sending the password-reset e-mail (run by the Celery task that :mod:`accounts.password_reset` queues)."""

from __future__ import annotations

from django.contrib.auth.forms import PasswordResetForm

EMAIL_TEMPLATE = "registration/password_reset_email.txt"


def password_reset_send(*, email: str, domain: str, use_https: bool) -> None:
    """Django's reset e-mail to every active account with ``email`` (none: nothing is sent)."""
    form = PasswordResetForm({"email": email})
    if form.is_valid():
        form.save(domain_override=domain, use_https=use_https, email_template_name=EMAIL_TEMPLATE)
