"""No machine words in front of people: every page each role reaches in the demo data, and
every PDF it issues, shows labels ("Systolic BP", "Adverse event"), never the codes behind
them ("sbp_mmhg", "adverse_event", "session.sign").

The pages are found as a person finds them: from the home page, following every link and
every panel the page loads (``hx-get``), plus one record of each state the demo holds
(an infusion session per status, a consultation per status...), since a state's words only
show on a record in that state.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone

from documents.tests.helpers import flat
from tests.machine_words import context, machine_words, other_clock, visible_text

LINK = re.compile(r'(?:href|hx-get)="(/[^"#]*)"')
# Enough of each page kind to meet its states, few enough to stay a unit-test's length.
PER_PAGE_KIND = 4
# Pages that are not the product's words: the Django admin (superusers' raw tables) and
# the machine-read exports (CSV columns and the calendar feed are named for software).
SKIPPED_PREFIXES = ("/admin/", "/static/", "/media/", "/accounts/logout")
ROLES = ("frontdesk", "nurse", "clinician", "admin")


def _state_samples() -> list[str]:
    """One record of each state the demo holds, for the pages a link may not reach."""
    from consultations.models import Consultation, TreatmentPlan
    from followups.models import FollowUpVisit, SafetyAlert
    from infusions.models import InfusionSession
    from scheduling.models import Appointment

    urls = []
    for model, field, url_name, kwarg in (
        (InfusionSession, "status", "infusions:session", "session_id"),
        (Consultation, "status", "consultations:detail", "consultation_id"),
        (TreatmentPlan, "status", "consultations:plan-detail", "plan_id"),
        (FollowUpVisit, "status", "followups:visit-detail", "visit_id"),
        (Appointment, "status", "scheduling:appointment-detail", "appointment_id"),
    ):
        firsts = {}
        for pk, state in model.objects.order_by("pk").values_list("pk", field):
            firsts.setdefault(state, pk)
        urls += [reverse(url_name, kwargs={kwarg: pk}) for pk in firsts.values()]
    urls += [
        reverse("followups:alert-detail", args=[pk]) for pk in SafetyAlert.objects.values_list("pk", flat=True)[:2]
    ]
    # The audit report lists nothing until it is filtered; the administrator's first search.
    urls.append(reverse("accounts:audit-report") + "?sort=-at")
    for session in InfusionSession.objects.order_by("pk").distinct("patient_id", "pk")[:6]:
        urls.append(reverse("patients:detail", args=[session.patient_id]))
    return urls


def _crawl(client: Client, starts: list[str]) -> tuple[dict[str, str], list[str]]:
    """Every page reachable from ``starts``: {url: visible text}, and the server errors."""
    queue, seen, per_kind = list(starts), set(), Counter()
    texts, errors = {}, []
    while queue:
        url = queue.pop(0).replace("&amp;", "&")
        path = urlsplit(url).path
        if url in seen or path.startswith(SKIPPED_PREFIXES):
            continue
        seen.add(url)
        try:
            kind = resolve(path).view_name
        except Resolver404:
            continue
        if per_kind[kind] >= PER_PAGE_KIND and url not in starts:
            continue
        per_kind[kind] += 1
        response = client.get(url)
        if response.status_code >= 500:
            errors.append(url)
            continue
        content_type = response.get("Content-Type", "")
        if response.status_code != 200 or "html" not in content_type:
            continue
        html = response.content.decode()
        texts[url] = visible_text(html)
        queue += LINK.findall(html)
    return texts, errors


def _issued_pdfs(client: Client) -> dict[str, str]:
    """The text of one PDF of each kind the demo can issue, as its reader sees it."""
    from documents import registry
    from patients.models import Patient

    texts = {}
    for document_type in registry.kinds():
        for patient in Patient.objects.order_by("pk"):
            subjects = document_type.choices(patient) if document_type.choices else [None]
            if not subjects:
                continue
            subject = subjects[0]
            response = client.post(
                reverse("documents:issue", args=[patient.pk]),
                {"kind": document_type.kind, "subject_id": getattr(subject, "pk", "") or ""},
            )
            if response.status_code == 302 and "/documents/" in response["Location"]:
                pdf = client.get(response["Location"])
                if pdf.status_code == 200:
                    texts[document_type.kind] = flat(pdf.content)
                    break
    return texts


@pytest.fixture
def demo_day(db, settings):
    """The demo as a clinic sees it mid-morning on a weekday: chairs in use, people in recovery."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    clinic = ZoneInfo(timezone.get_current_timezone_name())
    with time_machine.travel(datetime(2026, 3, 10, 10, 40, tzinfo=clinic), tick=False):
        call_command("seed_demo", patients=30, seed=3, allow_demo_accounts=True, verbosity=0)
        yield


def test_no_page_or_pdf_of_the_demo_shows_a_machine_word(demo_day):
    users = get_user_model().objects.in_bulk(ROLES, field_name="username")
    samples = _state_samples()
    found: dict[tuple[str, str], str] = {}
    errors: list[str] = []
    visited: dict[str, set[str]] = defaultdict(set)
    for role in ROLES:
        client = Client()
        client.force_login(users[role])
        texts, failed = _crawl(client, [reverse("home"), *samples])
        errors += [f"{role}: {url}" for url in failed]
        for url, text in texts.items():
            visited[role].add(resolve(urlsplit(url).path).view_name)
            for word in machine_words(text) + other_clock(text):
                found.setdefault((url, word), f"{role}: …{context(text, word)}…")
    admin = Client()
    admin.force_login(users["clinician"])
    pdfs = _issued_pdfs(admin)
    for kind, text in pdfs.items():
        for word in machine_words(text) + other_clock(text):
            found.setdefault((f"PDF {kind}", word), f"…{context(text, word)}…")

    assert not errors, f"server errors while walking the demo: {errors}"
    # The walk reaches the chairside and the chart, not only the lists.
    assert {"infusions:session", "consultations:detail", "patients:detail"} <= visited["nurse"] | visited["clinician"]
    assert len(pdfs) >= 3, f"the demo issued only {sorted(pdfs)}"
    report = "\n".join(f"{where}: {word!r} in {ctx}" for (where, word), ctx in sorted(found.items()))
    assert not found, f"machine words shown to people:\n{report}"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("sbp_mmhg 186 mmHg above 180", ["sbp_mmhg"]),
        ("Stop reason: Adverse_event", ["Adverse_event"]),
        ("accounts.audit_report.exported by admin", ["accounts.audit_report.exported"]),
        ("Systolic BP 186 mmHg, above 180. Next: F32.2, version 4.14.1", []),
        ("Write to front.desk@clinic.example or open https://x.test/a_b/c.d", []),
        ("Download course_summary-12.pdf, e.g. today; see clinical-reference.md", []),
        ("Time zone: America/New_York", []),
    ],
)
def test_the_finder_catches_codes_and_spares_what_is_spelt_elsewhere(text, words):
    assert machine_words(text) == words


def test_a_time_past_noon_on_the_other_clock_is_found():
    assert other_clock("Started 3:30 PM, ended 15:30; 10:05 AM; 09:10; 12:00") == ["15:30"]
