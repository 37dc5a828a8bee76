"""Deployment checks that Django's own `check --deploy` does not make (security-reference H1)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def grace_deploy_checks(app_configs=None, **kwargs):
    problems: list[CheckMessage] = []
    if not settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher"):
        problems.append(Warning("Argon2 is not the first password hasher.", id="grace.W001"))
    if settings.CELERY_ACCEPT_CONTENT != ["json"] or settings.CELERY_TASK_SERIALIZER != "json":
        problems.append(Error("Celery must accept JSON only (no pickle).", id="grace.E002"))
    if not settings.OTP_REQUIRED:
        problems.append(Warning("Two-factor sign-in is not required (OTP_REQUIRED).", id="grace.W003"))
    # The row's expiry is a backstop a minute past the idle time (SessionLifetimeMiddleware enforces it).
    if settings.SESSION_IDLE_MINUTES > 30 or settings.SESSION_COOKIE_AGE > 31 * 60:
        problems.append(Warning("The idle session time-out is longer than 30 minutes.", id="grace.W004"))
    if not settings.SESSION_COOKIE_NAME.startswith("__Host-"):
        problems.append(Warning("The session cookie should use the __Host- prefix.", id="grace.W005"))
    if settings.DATA_UPLOAD_MAX_MEMORY_SIZE > 10 * 1024 * 1024:
        problems.append(Warning("DATA_UPLOAD_MAX_MEMORY_SIZE is above 10 MB.", id="grace.W006"))
    if settings.CACHES["default"]["BACKEND"].endswith(("LocMemCache", "DummyCache")):
        problems.append(
            Warning(
                "The cache is per process: the password throttle and rate limits are not shared by the "
                "web workers. Set CACHE_URL to Redis.",
                id="grace.W007",
            )
        )
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None) and settings.TRUSTED_PROXY_COUNT < 1:
        problems.append(
            Warning(
                "The app trusts a TLS proxy (SECURE_PROXY_SSL_HEADER) but TRUSTED_PROXY_COUNT is 0: every "
                "client seems to come from the proxy, so the sign-in lockout and rate limits count the whole "
                "clinic as one address. Set TRUSTED_PROXY_COUNT to the number of proxies in front of the app.",
                id="grace.W008",
            )
        )
    return problems
