"""E-mail helpers: every message has a plain-text and an HTML part rendered from templates."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mail_admins
from django.core.mail.message import make_msgid
from django.template.loader import render_to_string


def send_templated_email(
    *, to: str, subject: str, template: str, context: dict, idempotency_key: str = "", connection=None
) -> str:
    """Render ``<template>.txt`` and ``<template>.html`` and send; return the Message-ID.

    Pass an open ``connection`` to send many messages over one SMTP session."""
    message_id = make_msgid(domain="grace-mindcare.invalid")
    text = render_to_string(f"{template}.txt", context)
    html = render_to_string(f"{template}.html", context)
    headers = {"Message-ID": message_id}
    if idempotency_key:
        headers["X-Idempotency-Key"] = idempotency_key
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers=headers,
        connection=connection,
    )
    message.attach_alternative(html, "text/html")
    message.send()
    return message_id


def alert_administrators(*, subject: str, body: str) -> None:
    """Operational alert to ``settings.ADMINS`` and active administrator accounts. Callers pass no PHI."""
    from django.contrib.auth import get_user_model

    recipients = {email for _name, email in getattr(settings, "ADMINS", [])}
    users = get_user_model().objects.filter(is_active=True, groups__name__iexact="administrator").exclude(email="")
    recipients.update(users.values_list("email", flat=True))
    if not recipients:
        mail_admins(subject, body, fail_silently=True)
        return
    EmailMultiAlternatives(
        subject=f"{settings.EMAIL_SUBJECT_PREFIX}{subject}",
        body=body,
        from_email=settings.SERVER_EMAIL,
        to=sorted(recipients),
    ).send()
