import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent


def _check_deploy(**overrides: str) -> subprocess.CompletedProcess:
    env = {
        # Not the test settings' own defaults (OTP_REQUIRED=0): production leaves them to settings.py.
        **{k: v for k, v in os.environ.items() if k not in {"DJANGO_ALLOW_ASYNC_UNSAFE", "OTP_REQUIRED"}},
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "p" * 10 + "-production-secret-for-the-deploy-check-" + "x7Qz" * 5,
        "DJANGO_ALLOWED_HOSTS": "clinic.example.org",
        "DJANGO_SETTINGS_MODULE": "grace_mindcare.settings",
        "CACHE_URL": "redis://127.0.0.1:6379/1",
        "TRUSTED_PROXY_COUNT": "1",  # behind the TLS proxy, as the README's production variables
        **overrides,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_variables():
    result = _check_deploy()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_runs_the_projects_own_checks():
    """The project's checks (accounts.checks) are registered by the app, not only when a test
    imports them: a production run without two-factor or behind a proxy of unknown depth fails."""
    result = _check_deploy(OTP_REQUIRED="0", TRUSTED_PROXY_COUNT="0")
    assert result.returncode != 0
    assert "grace.W003" in result.stdout + result.stderr
    assert "grace.W008" in result.stdout + result.stderr


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    env.update({"DJANGO_DEBUG": "0", "DJANGO_SETTINGS_MODULE": "grace_mindcare.settings"})
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_signed_in_pages_carry_the_security_headers_and_are_never_cached(client, clinician):
    client.force_login(clinician)
    response = client.get(reverse("home"))
    csp = response["Content-Security-Policy"]
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "script-src 'self' 'nonce-"):
        assert directive in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_the_not_found_page_shows_no_patient_data(client, clinician, patient):
    client.force_login(clinician)
    response = client.get(reverse("patients:detail", args=[patient.pk + 999]))
    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found" in body
    assert patient.legal_last_name not in body


@pytest.mark.django_db
def test_the_forbidden_page_explains_and_shows_no_patient_data(client, outsider, patient):
    client.force_login(outsider)
    response = client.get(reverse("patients:detail", args=[patient.pk]))
    assert response.status_code == 403
    assert "Your role does not give access" in response.content.decode()
    assert patient.legal_last_name not in response.content.decode()


def test_the_server_error_page_renders_without_a_request_context(rf):
    from grace_mindcare.views import server_error

    response = server_error(rf.get("/"))
    assert response.status_code == 500
    assert "Nothing you saved before this page was lost" in response.content.decode()


def test_the_project_deploy_checks_flag_a_weak_configuration(settings):
    from accounts.checks import grace_deploy_checks

    settings.OTP_REQUIRED = False
    settings.CELERY_ACCEPT_CONTENT = ["json", "pickle"]
    settings.SESSION_COOKIE_NAME = "sessionid"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.TRUSTED_PROXY_COUNT = 0
    ids = {problem.id for problem in grace_deploy_checks()}
    assert {"grace.W003", "grace.E002", "grace.W005", "grace.W007", "grace.W008"} <= ids


def test_rate_limits_and_lockout_behind_the_proxy_a_deploy_without_the_proxy_depth_is_flagged(settings):
    from accounts.checks import grace_deploy_checks

    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.TRUSTED_PROXY_COUNT = 0
    assert "grace.W008" in {problem.id for problem in grace_deploy_checks()}
    settings.TRUSTED_PROXY_COUNT = 1
    assert "grace.W008" not in {problem.id for problem in grace_deploy_checks()}


def test_check_deploy_is_clean_with_the_payment_provider_configured_and_fails_without_its_keys():
    stripe = {"PAYMENT_BACKEND": "billing.providers.StripeBackend", "STRIPE_API_KEY": "sk_live_deploycheck"}
    configured = _check_deploy(**stripe, STRIPE_WEBHOOK_SECRET="whsec_deploycheck")
    assert configured.returncode == 0, configured.stdout + configured.stderr
    unkeyed = _check_deploy(**stripe, STRIPE_WEBHOOK_SECRET="")
    assert unkeyed.returncode != 0
    assert "billing.E001" in unkeyed.stdout + unkeyed.stderr
