"""Deployment checks for the payment provider (``check --deploy``)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def payment_provider_checks(app_configs=None, **kwargs) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    if not settings.PAYMENT_BACKEND.endswith("StripeBackend"):
        return problems  # the manual backend needs nothing
    if not settings.STRIPE_API_KEY or not settings.STRIPE_WEBHOOK_SECRET:
        problems.append(
            Error(
                "PAYMENT_BACKEND is the Stripe backend but STRIPE_API_KEY or STRIPE_WEBHOOK_SECRET is unset: "
                "no card can be charged and every webhook is refused.",
                id="billing.E001",
            )
        )
    if not settings.STRIPE_API_BASE.startswith("https://"):
        problems.append(Warning("STRIPE_API_BASE is not an https:// address.", id="billing.W002"))
    if not 30 <= settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS <= 600:
        problems.append(
            Warning("STRIPE_WEBHOOK_TOLERANCE_SECONDS should be between 30 and 600 (replays).", id="billing.W003")
        )
    return problems
