"""Who may open what: the expected answer for every URL name and every persona.

Each later app adds its rows here. A URL that is not in this table fails
``test_every_url_is_classified``: nothing escapes classification.

Codes: OK = served (2xx, or a redirect that is not to sign-in); DENY = 403;
LOGIN = sent to sign-in; GONE = 404/405 (e.g. GET on a POST-only action); TOKEN = 401, an API
that takes a bearer token and no session (a signed-in browser gets no further than anyone else);
BAD = 400, a protocol endpoint asked without the parameters it needs.
"""

OK, DENY, LOGIN, GONE, TOKEN, BAD = "ok", "deny", "login", "gone", "token", "bad"

# The five roles of the clinic (the admin persona is a superuser administrator) and, for
# completeness, a signed-in account in no role. "prescriber" is the ``clinician`` fixture.
PERSONAS = ("anonymous", "frontdesk", "nurse", "prescriber", "admin", "outsider")


def row(anonymous, frontdesk, nurse, prescriber, admin, outsider, method="get"):
    return {
        "method": method,
        "expect": dict(zip(PERSONAS, (anonymous, frontdesk, nurse, prescriber, admin, outsider), strict=True)),
    }


ACCESS = {
    # Project
    "home": row(LOGIN, OK, OK, OK, OK, OK),
    "healthz": row(OK, OK, OK, OK, OK, OK),
    # Accounts
    "accounts:login": row(OK, OK, OK, OK, OK, OK),
    "accounts:logout": row(LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, method="post"),  # signs out, back to sign-in
    "accounts:two-factor": row(LOGIN, OK, OK, OK, OK, OK),
    "accounts:security": row(LOGIN, OK, OK, OK, OK, OK),
    "accounts:emergency-access-end": row(LOGIN, OK, OK, OK, OK, OK, method="post"),
    "accounts:two-factor-reset": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "accounts:password-change": row(LOGIN, OK, OK, OK, OK, OK),
    "accounts:password-change-done": row(LOGIN, OK, OK, OK, OK, OK),
    "accounts:password-reset": row(OK, OK, OK, OK, OK, OK),
    "accounts:password-reset-done": row(OK, OK, OK, OK, OK, OK),
    "accounts:password-reset-confirm": row(OK, OK, OK, OK, OK, OK),
    "accounts:password-reset-complete": row(OK, OK, OK, OK, OK, OK),
    "accounts:audit-report": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    # Passkeys (django-otp-webauthn): adding one needs a session that passed a second factor
    # (these personas have not); using one is the second step of anyone's sign-in; completing
    # is POST-only (GET: 405).
    "otp_webauthn:credential-registration-begin": row(LOGIN, DENY, DENY, DENY, DENY, DENY, method="post"),
    "otp_webauthn:credential-registration-complete": row(LOGIN, DENY, DENY, DENY, DENY, DENY, method="post"),
    "otp_webauthn:credential-authentication-begin": row(LOGIN, OK, OK, OK, OK, OK, method="post"),
    "otp_webauthn:credential-authentication-complete": row(LOGIN, GONE, GONE, GONE, GONE, GONE),
    "otp_webauthn:js-i18n-catalog": row(LOGIN, OK, OK, OK, OK, OK),
    # Patients
    "patients:list": row(LOGIN, OK, OK, OK, OK, DENY),
    "patients:create": row(LOGIN, OK, DENY, DENY, OK, DENY),
    "patients:detail": row(LOGIN, OK, OK, OK, OK, DENY),
    "patients:edit": row(LOGIN, OK, DENY, DENY, OK, DENY),
    "patients:status": row(LOGIN, OK, DENY, DENY, OK, DENY),
    "patients:contacts": row(LOGIN, OK, OK, OK, OK, DENY),
    # Break-glass (POST with no reason: the page again with the error; roles with clinical access need none)
    "patients:emergency-access": row(LOGIN, OK, DENY, DENY, DENY, DENY, method="post"),
    # Scheduling (POST rows post an empty form: refused politely, never a 500)
    "scheduling:calendar": row(LOGIN, OK, OK, OK, OK, DENY),
    "scheduling:day-sheet": row(LOGIN, OK, OK, OK, OK, DENY),
    "scheduling:book": row(LOGIN, OK, DENY, DENY, OK, DENY),
    "scheduling:patient-search": row(LOGIN, OK, DENY, DENY, OK, DENY),
    "scheduling:resource-options": row(LOGIN, OK, OK, OK, OK, DENY),
    "scheduling:series-new": row(LOGIN, OK, DENY, DENY, OK, DENY),
    "scheduling:find": row(LOGIN, OK, DENY, DENY, OK, DENY),
    "scheduling:appointment-detail": row(LOGIN, OK, OK, OK, OK, DENY),
    "scheduling:appointment-status": row(LOGIN, OK, OK, OK, OK, DENY, method="post"),
    "scheduling:appointment-cancel": row(LOGIN, OK, DENY, DENY, OK, DENY),
    "scheduling:appointment-reschedule": row(LOGIN, OK, DENY, DENY, OK, DENY),
    "scheduling:appointment-move": row(LOGIN, OK, DENY, DENY, OK, DENY, method="post"),
    "scheduling:appointment-escort": row(LOGIN, OK, OK, OK, OK, DENY, method="post"),
    "scheduling:patient-panel": row(LOGIN, OK, OK, OK, OK, DENY),
    # Online booking and the waitlist: the desk (and administrators) send links, keep the waitlist
    # and decide held requests; a request or entry that does not exist is a 404 to them.
    "scheduling:patient-waitlist": row(LOGIN, OK, DENY, DENY, OK, DENY),
    "scheduling:patient-booking-link": row(LOGIN, OK, DENY, DENY, OK, DENY, method="post"),
    "scheduling:online": row(LOGIN, OK, DENY, DENY, OK, DENY),
    "scheduling:self-booking-decide": row(LOGIN, GONE, DENY, DENY, GONE, DENY, method="post"),
    "scheduling:waitlist-remove": row(LOGIN, GONE, DENY, DENY, GONE, DENY, method="post"),
    "scheduling:feeds": row(LOGIN, DENY, OK, OK, OK, DENY),
    "scheduling:feed-regenerate": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "scheduling:feed-revoke": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "scheduling:feed": row(GONE, GONE, GONE, GONE, GONE, GONE),  # unknown token: 404, never a sign-in page
    # The patient's reminder link: no sign-in; an unknown token or no scoped session is a 404 page.
    "reminders:visit-link": row(GONE, GONE, GONE, GONE, GONE, GONE),
    "reminders:visit-reply": row(GONE, GONE, GONE, GONE, GONE, GONE),
    "reminders:visit-done": row(OK, OK, OK, OK, OK, OK),
    # The patient's own booking link (no sign-in): an unknown token is a 404, every token-free page
    # without a session the link verified is refused, whoever is signed in.
    "self_booking:open": row(GONE, GONE, GONE, GONE, GONE, GONE),
    "self_booking:verify": row(DENY, DENY, DENY, DENY, DENY, DENY),
    "self_booking:book": row(DENY, DENY, DENY, DENY, DENY, DENY),
    "self_booking:waitlist": row(DENY, DENY, DENY, DENY, DENY, DENY, method="post"),
    "self_booking:offer": row(DENY, DENY, DENY, DENY, DENY, DENY),
    "self_booking:done": row(DENY, DENY, DENY, DENY, DENY, DENY),
    "self_booking:manage": row(DENY, DENY, DENY, DENY, DENY, DENY),
    # Consultations: the clinical record. Front desk never opens it (403) and sees only
    # which plans are ready to book. (The admin persona is a superuser, so Django grants it every
    # permission; the Administrator role itself only reads: consultations/tests/test_services.py.)
    # The nurse drafts the intake but the decision, its amendments and the treatment plan (the
    # standing order) are a prescriber's, as is deciding on a booster.
    "consultations:ready-to-book": row(LOGIN, OK, OK, OK, OK, DENY),  # booking facts only, no clinical content
    "consultations:open": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "consultations:patient-panel": row(LOGIN, DENY, OK, OK, OK, DENY),
    "consultations:start": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "consultations:detail": row(LOGIN, DENY, OK, OK, OK, DENY),
    "consultations:draft": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "consultations:amend": row(LOGIN, DENY, DENY, OK, OK, DENY),
    "consultations:plan-create": row(LOGIN, DENY, DENY, OK, OK, DENY),
    "consultations:plan-detail": row(LOGIN, DENY, OK, OK, OK, DENY),
    "consultations:plan-transition": row(LOGIN, DENY, DENY, OK, OK, DENY, method="post"),
    # An empty order form: the plan page again with the errors (the route's plan has no order yet).
    "consultations:plan-order": row(LOGIN, DENY, DENY, OK, OK, DENY, method="post"),
    # Clinical policy changes: prescribers and administrators read them; signing off is the medical
    # director's (an empty POST: the page again with the error; the route's change does not exist: 404).
    "prescribers:policy-changes": row(LOGIN, DENY, DENY, OK, OK, DENY),
    "prescribers:policy-change-decide": row(LOGIN, DENY, DENY, GONE, GONE, DENY, method="post"),
    # Infusions: the front desk sees chair status only (the admin persona is a superuser; the
    # Administrator role itself only reads sessions: accounts/roles.py).
    "infusions:board-index": row(LOGIN, OK, OK, OK, OK, DENY),
    "infusions:board": row(LOGIN, OK, OK, OK, OK, DENY),
    "infusions:clinician-home": row(LOGIN, DENY, OK, OK, OK, DENY),
    "infusions:front-desk-home": row(LOGIN, OK, OK, OK, OK, DENY),
    "infusions:patient-panel": row(LOGIN, OK, OK, OK, OK, DENY),
    "infusions:open": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "infusions:session": row(LOGIN, DENY, OK, OK, OK, DENY),
    "infusions:check-in": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "infusions:instrument": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "infusions:precheck": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "infusions:clear": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "infusions:request-prescriber": row(
        LOGIN, DENY, OK, OK, OK, DENY, method="post"
    ),  # refused politely off a pre-check
    "infusions:defer": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "infusions:dose": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "infusions:dose-verify": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "infusions:transition": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "infusions:reading": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "infusions:rate-change": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "infusions:alert-action": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "infusions:adverse-event": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "infusions:adverse-event-outcome": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "infusions:discharge": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "infusions:sign": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "infusions:amend": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    # Follow-ups: clinical pages for clinicians; the front desk sees boosters to book and, on the
    # patient panel, only that a questionnaire is outstanding. The patient's questionnaire pages
    # need no sign-in but answer only a valid token / a scoped session (security-reference A9).
    "followups:worklist": row(LOGIN, DENY, OK, OK, OK, DENY),
    "followups:ready-to-book": row(LOGIN, OK, OK, OK, OK, DENY),  # booking facts only
    "followups:patient-panel": row(LOGIN, OK, OK, OK, OK, DENY),  # front desk: outstanding questionnaires only
    "followups:outcomes": row(LOGIN, DENY, OK, OK, OK, DENY),
    "followups:link-send": row(LOGIN, DENY, OK, OK, OK, DENY),
    "followups:visit-open": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "followups:visit-detail": row(LOGIN, DENY, OK, OK, OK, DENY),
    "followups:visit-sign": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "followups:visit-amend": row(LOGIN, DENY, OK, OK, OK, DENY),
    "followups:suggestion-decide": row(LOGIN, DENY, DENY, OK, OK, DENY, method="post"),
    "followups:alert-detail": row(LOGIN, DENY, OK, OK, OK, DENY),
    "followups:link-open": row(GONE, GONE, GONE, GONE, GONE, GONE),  # unknown token: 404 for everyone
    "followups:link-verify": row(DENY, DENY, DENY, DENY, DENY, DENY),  # no token matched in this session: refused
    "followups:self-report": row(DENY, DENY, DENY, DENY, DENY, DENY),  # no scoped session: refused
    "followups:self-report-done": row(DENY, DENY, DENY, DENY, DENY, DENY),
    # Controlled substances (ketamine ledger): managers (manage_stock) run stock, counts and reports;
    # clinicians (record_administration) record waste; the front desk sees nothing.
    "controlled_substances:index": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "controlled_substances:rescue-dose-logged": row(LOGIN, DENY, DENY, DENY, OK, DENY, method="post"),
    "controlled_substances:receive": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "controlled_substances:container-detail": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "controlled_substances:container-waste": row(LOGIN, DENY, OK, OK, OK, DENY),
    "controlled_substances:container-destroy": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "controlled_substances:container-transfer": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "controlled_substances:container-move": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "controlled_substances:container-loss": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "controlled_substances:container-adjust": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "controlled_substances:entry-reverse": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "controlled_substances:loss-report": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "controlled_substances:counts": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "controlled_substances:count-new": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "controlled_substances:count-detail": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "controlled_substances:count-line-resolve": row(LOGIN, DENY, DENY, DENY, OK, DENY, method="post"),
    "controlled_substances:report-balances": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "controlled_substances:report-dispensing": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "controlled_substances:report-waste": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "controlled_substances:report-discrepancies": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    # The access matrix passes the patient's pk as <pk>; no session has it, so permitted roles get 404.
    "controlled_substances:session-panel": row(LOGIN, DENY, GONE, GONE, GONE, DENY),
    # Only nurses and prescribers draw and waste for a session (an administrator manages stock, never a dose).
    "controlled_substances:session-draw": row(LOGIN, DENY, GONE, GONE, DENY, DENY, method="post"),
    "controlled_substances:session-waste": row(LOGIN, DENY, GONE, GONE, DENY, DENY, method="post"),
    # Reports: administrators see all; clinicians the clinical-quality ones (and the index listing
    # them); the front desk none.
    "reports:index": row(LOGIN, DENY, OK, OK, OK, DENY),
    # Prepare tomorrow: clinical staff only (the admin persona is a superuser).
    "reports:prepare": row(LOGIN, DENY, OK, OK, OK, DENY),
    "reports:appointments": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "reports:attendance": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "reports:utilisation": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "reports:conversion": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "reports:inquiries": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "reports:reminders": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "reports:compliance": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "reports:takings": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "reports:outstanding": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "reports:packages": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "reports:fees": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "reports:revenue": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "reports:clinical-quality": row(LOGIN, DENY, OK, OK, OK, DENY),
    "reports:infusion-safety": row(LOGIN, DENY, OK, OK, OK, DENY),
    # Documents: the front desk lists, issues and downloads discharge instructions only; the
    # download row's document is a consultation summary (clinical), so the front desk gets 403 there.
    # An empty issue form is refused politely (back to the patient page with a message).
    "documents:patient-panel": row(LOGIN, OK, OK, OK, OK, DENY),
    "documents:issue": row(LOGIN, OK, OK, OK, OK, DENY, method="post"),
    "documents:download": row(LOGIN, DENY, OK, OK, OK, DENY),
    "documents:status": row(LOGIN, DENY, OK, OK, OK, DENY),
    # Informed consent: everyone who meets patients sees where a patient stands, hands over the tablet,
    # records a paper consent and sends a signing link; clinical staff and administrators record a
    # withdrawal (POST with no reason: back to the chart with the error); administrators publish.
    "consents:patient-panel": row(LOGIN, OK, OK, OK, OK, DENY),
    "consents:sign-in-clinic": row(LOGIN, OK, OK, OK, OK, DENY),
    "consents:paper": row(LOGIN, OK, OK, OK, OK, DENY),
    "consents:link-new": row(LOGIN, OK, OK, OK, OK, DENY),
    "consents:withdraw": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "consents:scan": row(LOGIN, OK, OK, OK, OK, DENY),
    "consents:versions": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "consents:version-new": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "consents:version-detail": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "consents:version-publish": row(LOGIN, DENY, DENY, DENY, OK, DENY, method="post"),
    # The patient's signing pages: an unknown token is a 404; without a scoped session, refused.
    "consents:link-open": row(GONE, GONE, GONE, GONE, GONE, GONE),
    "consents:link-verify": row(DENY, DENY, DENY, DENY, DENY, DENY),
    "consents:public-sign": row(DENY, DENY, DENY, DENY, DENY, DENY),
    "consents:public-done": row(DENY, DENY, DENY, DENY, DENY, DENY),
    # Tasks between staff: every role reads and leaves tasks (the front desk never sees a clinical
    # note). The route's task is for the Nurse role, asked by someone else: only a nurse may close
    # it (an empty cancel is refused politely, back to the page).
    "staff_tasks:list": row(LOGIN, OK, OK, OK, OK, DENY),
    "staff_tasks:home-panel": row(LOGIN, OK, OK, OK, OK, DENY),
    "staff_tasks:new": row(LOGIN, OK, OK, OK, OK, DENY),
    "staff_tasks:patient-panel": row(LOGIN, OK, OK, OK, OK, DENY),
    "staff_tasks:patient-new": row(LOGIN, OK, OK, OK, OK, DENY),
    "staff_tasks:done": row(LOGIN, DENY, OK, DENY, DENY, DENY, method="post"),
    "staff_tasks:cancel": row(LOGIN, DENY, OK, DENY, DENY, DENY, method="post"),
    # Inquiries: the public form and its thanks need no sign-in; the queue is the desk's (and the
    # administrators'). POST rows post an empty form: the inquiry page again with the errors, or
    # (registering, whose reason is optional) the person registered.
    "inquiries:start": row(OK, OK, OK, OK, OK, OK),
    "inquiries:thanks": row(OK, OK, OK, OK, OK, OK),
    # Choosing a time from the thanks page: without an inquiry sent from this browser, back to the thanks.
    "inquiries:start-booking": row(OK, OK, OK, OK, OK, OK, method="post"),
    "inquiries:poster": row(LOGIN, OK, DENY, DENY, OK, DENY),
    "inquiries:queue": row(LOGIN, OK, DENY, DENY, OK, DENY),
    "inquiries:home-panel": row(LOGIN, OK, DENY, DENY, OK, DENY),
    "inquiries:detail": row(LOGIN, OK, DENY, DENY, OK, DENY),
    "inquiries:contact": row(LOGIN, OK, DENY, DENY, OK, DENY, method="post"),
    "inquiries:status": row(LOGIN, OK, DENY, DENY, OK, DENY, method="post"),
    "inquiries:convert": row(LOGIN, OK, DENY, DENY, OK, DENY, method="post"),
    "inquiries:link": row(LOGIN, OK, DENY, DENY, OK, DENY, method="post"),
    # Pre-visit packets: the desk sees progress and sends; the answers beside the intake are clinical.
    "packets:patient-panel": row(LOGIN, OK, OK, OK, OK, DENY),
    "packets:send": row(LOGIN, OK, OK, OK, OK, DENY),
    "packets:revoke": row(LOGIN, OK, OK, OK, OK, DENY, method="post"),
    "packets:corrections": row(LOGIN, OK, OK, OK, OK, DENY),
    "packets:reported": row(LOGIN, DENY, OK, OK, OK, DENY),
    "packets:accept-fact": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),  # the admin persona is a superuser
    "packets:accept-medication": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    # The patient's packet link: no sign-in; an unknown token is a 404, no scoped session a 403.
    "packets:link-open": row(GONE, GONE, GONE, GONE, GONE, GONE),
    "packets:link-verify": row(DENY, DENY, DENY, DENY, DENY, DENY),
    "packets:hub": row(DENY, DENY, DENY, DENY, DENY, DENY),
    "packets:step": row(DENY, DENY, DENY, DENY, DENY, DENY),
    "packets:done": row(DENY, DENY, DENY, DENY, DENY, DENY),
    # A course over months: clinical staff; a titration review and clearing a re-screen are a prescriber's
    # (the administrator persona is a superuser). GET on a patient with no plan: back to the course page.
    "courses:patient-course": row(LOGIN, DENY, OK, OK, OK, DENY),
    "courses:patient-panel": row(LOGIN, DENY, OK, OK, OK, DENY),
    "courses:titration": row(LOGIN, DENY, DENY, OK, OK, DENY),
    "courses:liver-test": row(LOGIN, DENY, OK, OK, OK, DENY),
    "courses:rescreen": row(LOGIN, DENY, OK, OK, OK, DENY),
    "courses:finding-acknowledge": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "courses:rescreen-review": row(LOGIN, DENY, DENY, OK, OK, DENY, method="post"),
    "courses:session-panel": row(LOGIN, DENY, OK, OK, OK, DENY),
    "courses:urinary-screen": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "courses:exposure-report": row(LOGIN, DENY, OK, OK, OK, DENY),
    # The patient's other clinicians: the directory and care-team names for every role; the directory is
    # kept by clinicians and administrators; authorisations, letters and adjunct notes are clinical (a
    # prescriber signs a letter; the front desk never sees one; the admin persona is a superuser).
    # POST rows post an empty form.
    "care_team:directory": row(LOGIN, OK, OK, OK, OK, DENY),
    "care_team:provider-new": row(LOGIN, DENY, OK, OK, OK, DENY),
    "care_team:provider-edit": row(LOGIN, DENY, OK, OK, OK, DENY),
    "care_team:provider-retire": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "care_team:patient-panel": row(LOGIN, OK, OK, OK, OK, DENY),
    "care_team:member-add": row(LOGIN, DENY, OK, OK, OK, DENY),
    "care_team:member-end": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "care_team:authorisation-new": row(LOGIN, DENY, OK, OK, OK, DENY),
    "care_team:authorisation-revoke": row(LOGIN, DENY, OK, OK, OK, DENY),
    "care_team:letter-draft": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    "care_team:letters": row(LOGIN, DENY, OK, OK, OK, DENY),
    "care_team:letter": row(LOGIN, DENY, OK, OK, OK, DENY),
    "care_team:adjunct-book": row(LOGIN, OK, DENY, DENY, OK, DENY),
    "care_team:adjunct-note": row(LOGIN, DENY, OK, OK, OK, DENY),
    "care_team:adjunct-note-amend": row(LOGIN, DENY, OK, OK, OK, DENY, method="post"),
    # Settings: administrators only (each page's own role table is in clinic_settings/tests). The
    # row is a location; retiring it (POST) deactivates it and returns to the list.
    "clinic_settings:index": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "clinic_settings:list": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "clinic_settings:create": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "clinic_settings:edit": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "clinic_settings:retire": row(LOGIN, DENY, DENY, DENY, OK, DENY, method="post"),
    "clinic_settings:policy": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    # Billing: the front desk takes payments and prints invoices and superbills; credit notes,
    # waivers and refunds are administrators'; clinicians see no money page. POST rows post an
    # empty form: refused on the page (200) or a redirect, never a 500.
    "billing:patient-panel": row(LOGIN, OK, DENY, DENY, OK, DENY),
    "billing:payment-new": row(LOGIN, OK, DENY, DENY, OK, DENY),
    "billing:invoice-detail": row(LOGIN, OK, DENY, DENY, OK, DENY),
    "billing:invoice-print": row(LOGIN, OK, DENY, DENY, OK, DENY, method="post"),
    "billing:invoice-allocate": row(LOGIN, OK, DENY, DENY, OK, DENY, method="post"),
    "billing:invoice-credit": row(LOGIN, DENY, DENY, DENY, OK, DENY, method="post"),
    "billing:invoice-waive": row(LOGIN, DENY, DENY, DENY, OK, DENY, method="post"),
    "billing:payment-refund": row(LOGIN, DENY, DENY, DENY, OK, DENY, method="post"),
    "billing:payment-check": row(LOGIN, OK, DENY, DENY, OK, DENY, method="post"),
    "billing:payment-cancel": row(LOGIN, OK, DENY, DENY, OK, DENY, method="post"),
    # The payment provider's webhook: no sign-in, no CSRF token; its signature is checked, so a
    # post without one is refused (400) whoever sends it.
    "billing:provider-webhook": row(BAD, BAD, BAD, BAD, BAD, BAD, method="post"),
    "billing:package-sell": row(LOGIN, OK, DENY, DENY, OK, DENY),
    "billing:package-close": row(LOGIN, DENY, DENY, DENY, OK, DENY, method="post"),
    "billing:deposit-take": row(LOGIN, OK, DENY, DENY, OK, DENY),
    "billing:visit-items": row(LOGIN, OK, DENY, DENY, OK, DENY),
    "billing:superbill-period": row(LOGIN, OK, DENY, DENY, OK, DENY),
    "billing:visit-item-remove": row(LOGIN, OK, DENY, DENY, OK, DENY, method="post"),
    # Open data: the FHIR API answers bearer tokens only (interop/tests has the scope tables); its
    # CapabilityStatement and SMART discovery are public and hold no data. API clients are the
    # administrators' (an empty retire is refused politely, back to the list).
    "interop:metadata": row(OK, OK, OK, OK, OK, OK),
    "interop:smart-configuration": row(OK, OK, OK, OK, OK, OK),
    "interop:read": row(TOKEN, TOKEN, TOKEN, TOKEN, TOKEN, TOKEN),
    "interop:search": row(TOKEN, TOKEN, TOKEN, TOKEN, TOKEN, TOKEN),
    # Bulk export: administrators' tokens (interop/tests/test_bulk_export.py has who may ask and fetch).
    "interop:export": row(TOKEN, TOKEN, TOKEN, TOKEN, TOKEN, TOKEN),
    "interop:export-patients": row(TOKEN, TOKEN, TOKEN, TOKEN, TOKEN, TOKEN),
    "interop:export-group": row(TOKEN, TOKEN, TOKEN, TOKEN, TOKEN, TOKEN),
    "interop:export-status": row(TOKEN, TOKEN, TOKEN, TOKEN, TOKEN, TOKEN),
    "interop:export-file": row(TOKEN, TOKEN, TOKEN, TOKEN, TOKEN, TOKEN),
    # A patient's whole record: administrators and prescribers prepare and download it from the
    # chart (the download of an export that does not exist is a 404 for them).
    "interop:record-exports": row(LOGIN, DENY, DENY, OK, OK, DENY),
    "interop:record-export-new": row(LOGIN, DENY, DENY, OK, OK, DENY, method="post"),
    "interop:record-download": row(LOGIN, DENY, DENY, GONE, GONE, DENY),
    "interop:clients": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "interop:client-new": row(LOGIN, DENY, DENY, DENY, OK, DENY),
    "interop:client-retire": row(LOGIN, DENY, DENY, DENY, GONE, DENY, method="post"),  # no such client
    # OAuth: approving a client needs a signed-in member of staff (an authorise request naming no
    # client is refused as a bad request); the token endpoints are POSTs from the client itself,
    # and introspection needs a token of its own.
    "oauth2_provider:authorize": row(LOGIN, BAD, BAD, BAD, BAD, BAD),
    "oauth2_provider:token": row(GONE, GONE, GONE, GONE, GONE, GONE),
    "oauth2_provider:revoke-token": row(GONE, GONE, GONE, GONE, GONE, GONE),
    "oauth2_provider:introspect": row(DENY, DENY, DENY, DENY, DENY, DENY),
}

# The Django admin is one namespace with its own sign-in; only administrators pass.
ADMIN_NAMESPACE = "admin"

# Break-glass personas: the front desk holding a live emergency grant (accounts.emergency).
# ``breakglass_other`` holds it for another patient, so every URL answers it exactly as the front
# desk column says: a grant opens nothing beyond its own chart, and pages about several patients
# (worklists, reports, the clinician home) stay closed. ``breakglass_own`` holds it for the patient
# the URL belongs to and reads that chart, never writes it; these are the URLs where its answer
# differs from the front desk's.
BREAK_GLASS_PERSONAS = ("breakglass_own", "breakglass_other")
BREAK_GLASS_OWN = {
    "patients:emergency-access": DENY,  # already open: nothing to break into
    "consultations:patient-panel": OK,
    "consultations:detail": OK,
    "consultations:plan-detail": OK,
    "infusions:session": OK,
    "followups:outcomes": OK,
    "followups:visit-detail": OK,
    "followups:alert-detail": OK,
    "documents:download": OK,
    "documents:status": OK,
    "packets:reported": OK,
    "courses:patient-course": OK,
    "courses:patient-panel": OK,
    "courses:session-panel": OK,
    "care_team:letter": OK,
    "care_team:adjunct-note": OK,
}


def break_glass_expectation(url_name: str, who: str) -> str:
    desk = ACCESS[url_name]["expect"]["frontdesk"]
    return BREAK_GLASS_OWN.get(url_name, desk) if who == "breakglass_own" else desk


# Second-location personas: a front desk user and a nurse assigned only to a second location, asking
# about a patient whose care is at the first location only (the other personas are chain-wide).
# Every URL about that patient or one of their records answers 403 where the role would be let in:
# these are the URLs whose answer differs from the role's column. Break-glass still applies outside
# one's locations (an empty emergency-access form: the page again with the errors, for the nurse
# too, whose role otherwise has nothing to break into). Pages about several patients answer as for
# the role and show none of the first location's patients (tests/test_access_matrix.py checks the
# patient list, the calendar and the task list); the chair board of another location is refused.
SECOND_SITE_PERSONAS = {"frontdesk_elsewhere": "frontdesk", "nurse_elsewhere": "nurse"}
ABOUT_THE_PATIENT = frozenset(
    {
        "billing:deposit-take",
        "billing:invoice-allocate",
        "billing:invoice-detail",
        "billing:invoice-print",
        "billing:package-sell",
        "billing:patient-panel",
        "billing:payment-cancel",
        "billing:payment-check",
        "billing:payment-new",
        "billing:superbill-period",
        "billing:visit-item-remove",
        "billing:visit-items",
        "care_team:adjunct-book",
        "care_team:adjunct-note",
        "care_team:adjunct-note-amend",
        "care_team:authorisation-new",
        "care_team:authorisation-revoke",
        "care_team:letter",
        "care_team:letter-draft",
        "care_team:member-add",
        "care_team:member-end",
        "care_team:patient-panel",
        "consents:link-new",
        "consents:paper",
        "consents:patient-panel",
        "consents:scan",
        "consents:sign-in-clinic",
        "consents:withdraw",
        "consultations:detail",
        "consultations:draft",
        "consultations:open",
        "consultations:patient-panel",
        "consultations:plan-detail",
        "consultations:start",
        "controlled_substances:container-waste",  # a vial of the first location's stock
        "courses:finding-acknowledge",
        "courses:liver-test",
        "courses:patient-course",
        "courses:patient-panel",
        "courses:rescreen",
        "courses:session-panel",
        "courses:urinary-screen",
        "documents:download",
        "documents:issue",
        "documents:patient-panel",
        "documents:status",
        "followups:alert-detail",
        "followups:link-send",
        "followups:outcomes",
        "followups:patient-panel",
        "followups:visit-amend",
        "followups:visit-detail",
        "followups:visit-open",
        "followups:visit-sign",
        "infusions:adverse-event",
        "infusions:adverse-event-outcome",
        "infusions:alert-action",
        "infusions:amend",
        "infusions:board",  # the chairs of the first location
        "infusions:check-in",
        "infusions:clear",
        "infusions:defer",
        "infusions:discharge",
        "infusions:dose",
        "infusions:dose-verify",
        "infusions:instrument",
        "infusions:open",
        "infusions:patient-panel",
        "infusions:precheck",
        "infusions:rate-change",
        "infusions:reading",
        "infusions:request-prescriber",
        "infusions:session",
        "infusions:sign",
        "infusions:transition",
        # An inquiry naming the first location (the access test's inquiry names the patient's site):
        # not in the second location's queue, so refused by its id too.
        "inquiries:contact",
        "inquiries:convert",
        "inquiries:detail",
        "inquiries:link",
        "inquiries:status",
        "packets:accept-fact",
        "packets:accept-medication",
        "packets:corrections",
        "packets:patient-panel",
        "packets:reported",
        "packets:revoke",
        "packets:send",
        "patients:contacts",
        "patients:detail",
        "patients:edit",
        "patients:status",
        "scheduling:appointment-cancel",
        "scheduling:appointment-detail",
        "scheduling:appointment-escort",
        "scheduling:appointment-move",
        "scheduling:appointment-reschedule",
        "scheduling:appointment-status",
        "scheduling:patient-booking-link",
        "scheduling:patient-panel",
        "scheduling:patient-waitlist",
        "staff_tasks:cancel",
        "staff_tasks:done",
        "staff_tasks:patient-new",
        "staff_tasks:patient-panel",
    }
)


def second_site_expectation(url_name: str, who: str) -> str:
    role = SECOND_SITE_PERSONAS[who]
    expected = ACCESS[url_name]["expect"][role]
    if url_name == "patients:emergency-access":
        return OK
    return DENY if url_name in ABOUT_THE_PATIENT and expected == OK else expected


# Pages whose GET shows patient data: each writes exactly one audit event (a ``read`` of the chart
# or a ``query`` over several patients) per request, tests/test_read_audit.py walks them all.
PHI_PAGES = {
    "home",
    "interop:record-exports",
    "patients:list",
    "patients:detail",
    "patients:contacts",
    "scheduling:calendar",
    "scheduling:day-sheet",
    "scheduling:patient-search",
    "scheduling:appointment-detail",
    "scheduling:patient-panel",
    "scheduling:online",
    "scheduling:patient-waitlist",
    "consultations:ready-to-book",
    "consultations:patient-panel",
    "consultations:detail",
    "consultations:plan-detail",
    "infusions:board",
    "infusions:clinician-home",
    "infusions:front-desk-home",
    "infusions:patient-panel",
    "infusions:session",
    "controlled_substances:index",  # open draws and controlled rescue doses name their patients
    "followups:worklist",
    "followups:ready-to-book",
    "followups:patient-panel",
    "followups:outcomes",
    "followups:visit-detail",
    "followups:alert-detail",
    "documents:patient-panel",
    "documents:download",
    "documents:status",  # a patient's document names its patient in the file name
    "consents:patient-panel",
    "consents:sign-in-clinic",
    "consents:paper",
    "consents:link-new",
    "consents:scan",
    "accounts:audit-report",
    "reports:appointments",
    "reports:attendance",
    "reports:clinical-quality",
    "reports:compliance",
    "reports:conversion",
    "reports:inquiries",
    "reports:infusion-safety",
    "reports:reminders",
    "reports:utilisation",
    "reports:outstanding",  # names the patients who owe
    "reports:takings",
    "reports:packages",
    "reports:fees",
    "reports:revenue",
    "patients:edit",
    "patients:status",
    "scheduling:appointment-cancel",
    "scheduling:appointment-reschedule",
    "scheduling:book",
    "scheduling:series-new",
    "scheduling:find",
    "consultations:amend",
    "consultations:plan-create",
    "followups:link-send",
    "followups:visit-amend",
    "controlled_substances:container-detail",
    "controlled_substances:report-dispensing",
    "controlled_substances:report-waste",
    "reports:prepare",
    "staff_tasks:list",
    "staff_tasks:home-panel",
    "staff_tasks:patient-panel",
    "staff_tasks:patient-new",
    "inquiries:queue",
    "inquiries:home-panel",
    "inquiries:detail",
    "billing:patient-panel",
    "billing:payment-new",
    "billing:invoice-detail",
    "packets:patient-panel",
    "packets:send",
    "packets:corrections",
    "packets:reported",
    "billing:package-sell",
    "billing:deposit-take",
    "billing:visit-items",
    "billing:superbill-period",
    "courses:patient-course",
    "courses:patient-panel",
    "courses:session-panel",
    "courses:exposure-report",
    "courses:titration",
    "courses:liver-test",
    "courses:rescreen",
    "care_team:patient-panel",
    "care_team:member-add",
    "care_team:authorisation-new",
    "care_team:authorisation-revoke",
    "care_team:letters",
    "care_team:letter",
    "care_team:adjunct-book",
    "care_team:adjunct-note",
}
