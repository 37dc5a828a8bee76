"""Who may open what: the expected answer for every URL name and every persona.

Each later app adds its rows here. A URL that is not in this table fails
``test_every_url_is_classified``: nothing escapes classification.

Codes: OK = served (2xx, or a redirect that is not to sign-in); DENY = 403;
LOGIN = sent to sign-in; GONE = 404/405 (e.g. GET on a POST-only action).
"""

OK, DENY, LOGIN, GONE = "ok", "deny", "login", "gone"

PERSONAS = ("anonymous", "frontdesk", "clinician", "admin", "outsider")


def row(anonymous, frontdesk, clinician, admin, outsider, method="get"):
    return {
        "method": method,
        "expect": dict(zip(PERSONAS, (anonymous, frontdesk, clinician, admin, outsider), strict=True)),
    }


ACCESS = {
    # Project
    "home": row(LOGIN, OK, OK, OK, OK),
    "healthz": row(OK, OK, OK, OK, OK),
    # Accounts
    "accounts:login": row(OK, OK, OK, OK, OK),
    "accounts:logout": row(LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, method="post"),  # signs out, back to sign-in
    "accounts:two-factor": row(LOGIN, OK, OK, OK, OK),
    "accounts:password-change": row(LOGIN, OK, OK, OK, OK),
    "accounts:password-change-done": row(LOGIN, OK, OK, OK, OK),
    "accounts:password-reset": row(OK, OK, OK, OK, OK),
    "accounts:password-reset-done": row(OK, OK, OK, OK, OK),
    "accounts:password-reset-confirm": row(OK, OK, OK, OK, OK),
    "accounts:password-reset-complete": row(OK, OK, OK, OK, OK),
    "accounts:audit-report": row(LOGIN, DENY, DENY, OK, DENY),
    # Patients
    "patients:list": row(LOGIN, OK, OK, OK, DENY),
    "patients:create": row(LOGIN, OK, DENY, OK, DENY),
    "patients:detail": row(LOGIN, OK, OK, OK, DENY),
    "patients:edit": row(LOGIN, OK, DENY, OK, DENY),
}

# The Django admin is one namespace with its own sign-in; only administrators pass.
ADMIN_NAMESPACE = "admin"
