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
    "patients:status": row(LOGIN, OK, DENY, OK, DENY),
    "patients:contacts": row(LOGIN, OK, OK, OK, DENY),
    # Scheduling (POST rows post an empty form: refused politely, never a 500)
    "scheduling:calendar": row(LOGIN, OK, OK, OK, DENY),
    "scheduling:day-sheet": row(LOGIN, OK, OK, OK, DENY),
    "scheduling:book": row(LOGIN, OK, DENY, OK, DENY),
    "scheduling:patient-search": row(LOGIN, OK, DENY, OK, DENY),
    "scheduling:series-new": row(LOGIN, OK, DENY, OK, DENY),
    "scheduling:find": row(LOGIN, OK, DENY, OK, DENY),
    "scheduling:appointment-detail": row(LOGIN, OK, OK, OK, DENY),
    "scheduling:appointment-status": row(LOGIN, OK, OK, OK, DENY, method="post"),
    "scheduling:appointment-cancel": row(LOGIN, OK, DENY, OK, DENY),
    "scheduling:appointment-reschedule": row(LOGIN, OK, DENY, OK, DENY),
    "scheduling:appointment-escort": row(LOGIN, OK, OK, OK, DENY, method="post"),
    "scheduling:patient-panel": row(LOGIN, OK, OK, OK, DENY),
    "scheduling:feeds": row(LOGIN, DENY, OK, OK, DENY),
    "scheduling:feed-regenerate": row(LOGIN, DENY, OK, OK, DENY, method="post"),
    "scheduling:feed-revoke": row(LOGIN, DENY, OK, OK, DENY, method="post"),
    "scheduling:feed": row(GONE, GONE, GONE, GONE, GONE),  # unknown token: 404, never a sign-in page
    # Consultations: the clinical record. Front desk never opens it (403, issue 4) and sees only
    # which plans are ready to book. (The admin persona is a superuser, so Django grants it every
    # permission; the Administrator role itself only reads: consultations/tests/test_services.py.)
    "consultations:ready-to-book": row(LOGIN, OK, OK, OK, DENY),  # booking facts only, no clinical content
    "consultations:open": row(LOGIN, DENY, OK, OK, DENY, method="post"),
    "consultations:patient-panel": row(LOGIN, DENY, OK, OK, DENY),
    "consultations:start": row(LOGIN, DENY, OK, OK, DENY, method="post"),
    "consultations:detail": row(LOGIN, DENY, OK, OK, DENY),
    "consultations:draft": row(LOGIN, DENY, OK, OK, DENY, method="post"),
    "consultations:amend": row(LOGIN, DENY, OK, OK, DENY),
    "consultations:plan-create": row(LOGIN, DENY, OK, OK, DENY),
    "consultations:plan-detail": row(LOGIN, DENY, OK, OK, DENY),
    "consultations:plan-transition": row(LOGIN, DENY, OK, OK, DENY, method="post"),
}

# The Django admin is one namespace with its own sign-in; only administrators pass.
ADMIN_NAMESPACE = "admin"
