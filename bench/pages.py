"""The pages `make bench` times: one dict per page. Add a row to PAGES to time a new page.

Keys of a row:
- ``name``: short slug, unique; shown in results and matched by ``--only``.
- ``persona``: ``None`` (anonymous), ``"frontdesk"``, ``"clinician"`` or ``"admin"`` (the demo accounts).
- ``path``: the URL path (with query string), or a callable ``path(ctx) -> str`` that builds it from the
  benchmark database with the ORM (Django is set up against ``grace_bench`` when it runs). Raise
  ``SkipPage("why")`` from the callable when the page cannot be built yet (its app is missing, no data);
  the run then lists the page as skipped instead of failing.
- ``baseline``: ``True`` on exactly one row, the page every ratio is computed against.
- ``goal_ratio`` (optional, default 3.0): the page's median must stay within this multiple of the
  baseline's median. ``None`` for no goal.
- ``goal_ms`` (optional): an absolute alternative: the goal is also met below this median
  ("within 3x the baseline or under 500 ms, whichever is larger").
- ``note`` (optional): one line shown under the results table.

This module is imported after ``django.setup()``, so model imports at the top are fine.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from urllib.parse import urlencode

from django.apps import apps
from django.db.models import Count, Q
from django.urls import Resolver404, resolve
from django.utils import timezone

from patients.models import Patient


class SkipPage(Exception):  # noqa: N818 - reads as "skip page", not an error
    """Raised by a path builder when its page cannot be timed in this checkout."""


def search_common_surname(ctx) -> str:
    """The registry search for the most frequent surname in the data set: the most rows to match."""
    return "/patients/?" + urlencode({"q": _most_common_surname()})


def search_misspelled_surname(ctx) -> str:
    """The same surname with two letters swapped, as typed in a hurry at the front desk."""
    return "/patients/?" + urlencode({"q": misspell(_most_common_surname())})


def patient_chart(ctx) -> str:
    """A patient from the middle of the registry (by primary key), opened by a clinician."""
    patients = Patient.objects.order_by("pk").values_list("pk", flat=True)
    total = patients.count()
    if not total:
        raise SkipPage("no patients in the benchmark database")
    return f"/patients/{patients[total // 2]}/"


def schedule_week_12_chairs(ctx) -> str:
    """Week calendar of the location with 12 chairs. Skipped until scheduling exists."""
    try:
        resolve("/schedule/")
        location_model = apps.get_model("scheduling", "Location")
    except (Resolver404, LookupError) as exc:
        raise SkipPage("no /schedule/ URL or scheduling.Location model yet") from exc
    locations = location_model.objects.order_by("pk")
    # Chairs are scheduling.Resource rows of kind "chair" (related_name "resources").
    chair = Q(resources__kind="chair", resources__active=True)
    counted = locations.annotate(chairs=Count("resources", filter=chair))
    location = counted.filter(chairs=12).first()
    if location is None:
        raise SkipPage("no location with 12 active chairs in the benchmark database")
    return f"/schedule/?view=week&location={location.pk}"


def schedule_day_12_chairs(ctx) -> str:
    """Day calendar of the location with 12 chairs on its busiest day from today on (bookable, so
    every column carries its empty-slot links and every card its actions)."""
    from django.db.models.functions import TruncDate

    week = schedule_week_12_chairs(ctx)
    location_model = apps.get_model("scheduling", "Location")
    location = location_model.objects.get(pk=week.rsplit("=", 1)[1])
    busiest = (
        apps.get_model("scheduling", "Appointment")
        .objects.filter(location=location, start__gte=timezone.now())
        .exclude(status__in=["cancelled", "entered_in_error"])
        .annotate(day=TruncDate("start", tzinfo=location.zone))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by("-n", "day")
        .first()
    )
    if busiest is None:
        raise SkipPage("no upcoming bookings at the 12-chair location")
    return f"/schedule/?location={location.pk}&date={busiest['day'].isoformat()}"


def report_last_year(ctx) -> str:
    """The appointments report over the last 365 days, by month: the widest range a clinic usually asks for."""
    from datetime import timedelta

    from django.utils import timezone

    today = timezone.localdate()
    query = {"start": (today - timedelta(days=364)).isoformat(), "end": today.isoformat(), "period": "month"}
    return "/reports/appointments/?" + urlencode(query)


def report_takings_year(ctx) -> str:
    """The daily takings and deposit slip over the last 365 days: a year of the desk's payments."""
    today = timezone.localdate()
    return "/reports/takings/?" + urlencode(
        {"start": (today - timedelta(days=364)).isoformat(), "end": today.isoformat()}
    )


def infusion_chair_board(ctx) -> str:
    """The chair board of the location with the most chairs, as the clinician sees it."""
    if not apps.is_installed("infusions"):
        raise SkipPage("no infusions app yet")
    location_model = apps.get_model("scheduling", "Location")
    chair = Q(resources__kind="chair", resources__active=True)
    location = location_model.objects.annotate(chairs=Count("resources", filter=chair)).order_by("-chairs").first()
    if location is None:
        raise SkipPage("no location with chairs in the benchmark database")
    return f"/infusions/board/{location.pk}/"


def infusion_session_30_readings(ctx) -> str:
    """A discharged session's page with 30 flowsheet readings. The seeder writes about
    ten per session, so readings are added to one session (every 2 min of its infusion) to reach 30."""
    if not apps.is_installed("infusions"):
        raise SkipPage("no infusions app yet")
    from datetime import timedelta

    session_model = apps.get_model("infusions", "InfusionSession")
    reading_model = apps.get_model("infusions", "FlowsheetReading")
    session = session_model.objects.filter(status="discharged", started_at__isnull=False).order_by("pk").first()
    if session is None:
        raise SkipPage("no discharged infusion session in the benchmark database")
    missing = 30 - reading_model.objects.filter(session=session).count()
    if missing > 0:
        template = reading_model.objects.filter(session=session).order_by("taken_at").first()
        reading_model.objects.bulk_create(
            reading_model(
                session=session,
                taken_at=session.started_at + timedelta(minutes=1 + 2 * i),
                entered_at=session.started_at + timedelta(minutes=2 + 2 * i),
                phase="intra",
                sbp_mmhg=template.sbp_mmhg if template else 128,
                dbp_mmhg=template.dbp_mmhg if template else 80,
                hr_bpm=template.hr_bpm if template else 76,
                spo2_pct=98,
                entered_by_id=session.created_by_id,
            )
            for i in range(missing)
        )
    return f"/infusions/sessions/{session.pk}/"


def followups_outcomes_longest(ctx) -> str:
    """The outcomes chart of the patient with the most scores."""
    try:
        resolve("/followups/worklist/")
        response_model = apps.get_model("assessments", "InstrumentResponse")
    except (Resolver404, LookupError) as exc:
        raise SkipPage("followups is not installed") from exc
    top = (
        response_model.objects.values("patient_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("patient_id", flat=True)
        .first()
    )
    if top is None:
        raise SkipPage("no instrument responses in the benchmark database")
    return f"/followups/patients/{top}/outcomes/"


def _audit(**query) -> str:
    return "/accounts/audit/?" + urlencode(query)


def audit_middle_page(ctx) -> str:
    """The page after the middle row of the whole trail, as reached by Next links (a keyset cursor)."""
    from accounts.models import AuditEvent
    from core.keyset import cursor_of

    total = AuditEvent.objects.count()
    row = AuditEvent.objects.order_by("-at", "-id").values_list("at", "id")[total // 2 : total // 2 + 1].first()
    if row is None:
        raise SkipPage("no audit events in the benchmark database")
    return _audit(sort="-at", after=cursor_of(*row))


def audit_busiest_patient(ctx) -> str:
    """The trail of the patient with the most audit events, by MRN."""
    from accounts.models import AuditEvent

    mrn = (
        AuditEvent.objects.exclude(patient_mrn="")
        .values("patient_mrn")
        .annotate(n=Count("id"))
        .order_by("-n", "patient_mrn")
        .values_list("patient_mrn", flat=True)
        .first()
    )
    if mrn is None:
        raise SkipPage("no audit events about a patient")
    return _audit(patient=mrn)


def audit_last_30_days(ctx) -> str:
    return _audit(date_from=(timezone.localdate() - timedelta(days=30)).isoformat())


PAGES: list[dict] = [
    # The baseline: a signed-in page that renders the base layout (navigation by permission,
    # messages, breadcrumbs) and nothing else: no form, no data queries, only the session, user and
    # permission reads and the session save that every signed-in page pays. Every role can open it.
    # (The password change form was the first candidate; its crispy form adds about 8 ms of
    # template work that is not layout, so it is timed below as an ordinary page instead.)
    {"name": "baseline", "persona": "frontdesk", "path": "/accounts/password/change/done/", "baseline": True},
    # The floor: the same signed-in request to a view that does nothing (bench/urls.py). The baseline's
    # goal is 2x this: what the layout and navigation cost over the stack itself.
    {"name": "bare-view", "persona": "frontdesk", "path": "/bench/bare/", "goal_ratio": None},
    {"name": "password-change", "persona": "frontdesk", "path": "/accounts/password/change/"},
    {"name": "sign-in", "persona": None, "path": "/accounts/login/"},
    {"name": "home-frontdesk", "persona": "frontdesk", "path": "/"},
    {"name": "home-clinician", "persona": "clinician", "path": "/"},
    {"name": "home-admin", "persona": "admin", "path": "/"},
    {"name": "patient-list", "persona": "frontdesk", "path": "/patients/"},
    {"name": "patient-search-common", "persona": "frontdesk", "path": search_common_surname},
    {"name": "patient-search-misspelled", "persona": "frontdesk", "path": search_misspelled_surname},
    {"name": "patient-chart", "persona": "clinician", "path": patient_chart},
    # ---- Later issues: add pages below this line (one dict per page) ----------------------------
    {"name": "schedule-week-12-chairs", "persona": "frontdesk", "path": schedule_week_12_chairs},
    {"name": "schedule-day-12-chairs", "persona": "frontdesk", "path": schedule_day_12_chairs},
    # Reports: default filter (the last 13 weeks, all locations), plus a year of bookings.
    # Goal: within 3x the baseline or under 500 ms, whichever is larger.
    *[
        {"name": f"report-{slug}", "persona": "admin", "path": f"/reports/{slug}/", "goal_ms": 500}
        for slug in ("appointments", "attendance", "utilisation", "conversion", "reminders", "compliance")
    ],
    {"name": "report-clinical-quality", "persona": "clinician", "path": "/reports/clinical-quality/", "goal_ms": 500},
    {"name": "report-infusion-safety", "persona": "clinician", "path": "/reports/infusion-safety/", "goal_ms": 500},
    {"name": "report-appointments-year", "persona": "admin", "path": report_last_year, "goal_ms": 500},
    # Money (the demo seeder invoices every completed visit and pays most of them): the outstanding
    # balances with ageing as of today over every invoice ever issued, and the takings report by
    # default (13 weeks) and over a year. Goal: within 3x the baseline or under 500 ms.
    {"name": "report-outstanding", "persona": "admin", "path": "/reports/outstanding/", "goal_ms": 500},
    {"name": "report-takings", "persona": "admin", "path": "/reports/takings/", "goal_ms": 500},
    {"name": "report-takings-year", "persona": "admin", "path": report_takings_year, "goal_ms": 500},
    # Infusion day: the live chair board and a session page with 30 readings.
    {"name": "infusion-chair-board", "persona": "clinician", "path": infusion_chair_board},
    {"name": "infusion-session-30-readings", "persona": "clinician", "path": infusion_session_30_readings},
    # Follow-up: the longest outcomes trajectory and the clinician's worklist.
    {"name": "followups-outcomes-longest", "persona": "clinician", "path": followups_outcomes_longest},
    {"name": "followups-worklist", "persona": "clinician", "path": "/followups/worklist/"},
    # Ketamine ledger: the manager's home (reconciliation of every vial) and the last 30 days'
    # dispensing log (default period).
    {"name": "ledger-home", "persona": "admin", "path": "/controlled-substances/", "goal_ms": 500},
    {
        "name": "ledger-dispensing-30-days",
        "persona": "admin",
        "path": "/controlled-substances/reports/dispensing/",
        "goal_ms": 500,
    },
    # The audit report on the seeded trail (--audit-rows): first, middle (Next) and last pages, and
    # each kind of filter. Goal: within 3x the baseline or under 50 ms, whichever is larger.
    *[
        {"name": f"audit-{name}", "persona": "admin", "path": path, "goal_ms": 50}
        for name, path in [
            ("first", _audit(sort="-at")),
            ("middle", audit_middle_page),
            ("last", _audit(sort="-at", page="last")),
            ("patient", audit_busiest_patient),
            ("user", _audit(user="clinician")),
            ("user-last", _audit(user="clinician", page="last")),
            ("action", _audit(action="controlled_substances.")),
            ("last-30-days", audit_last_30_days),
            ("denied", _audit(outcome="denied")),
        ]
    ],
]


def misspell(word: str) -> str:
    """Swap two neighbouring letters in the middle of a word ("Johnson" -> "Johsnon"); deterministic."""
    i = max(1, len(word) // 2)
    if i + 1 >= len(word):
        return word + word[-1:]
    if word[i] == word[i + 1]:  # swapping equal letters would change nothing
        i -= 1
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


@functools.cache
def _most_common_surname() -> str:
    row = (
        Patient.objects.values("legal_last_name")
        .annotate(n=Count("pk"))
        .order_by("-n", "legal_last_name")
        .values_list("legal_last_name", flat=True)
        .first()
    )
    if not row:
        raise SkipPage("no patients in the benchmark database")
    return row
